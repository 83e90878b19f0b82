"""Where each model and each policy entry is written in ``kmodels.yaml``, so findings can point at a line.

Pure: YAML text in, 1-based line/column numbers out (ruamel keeps the positions of keys and items).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SpecPlaces", "spec_places"]

Position = tuple[int, int]


@dataclass(frozen=True)
class SpecPlaces:
    """1-based (line, column) of ``models.<name>``, each ``policy.licenses.exceptions`` item, and ``policy``."""

    models: Mapping[str, Position] = field(default_factory=dict)
    exceptions: tuple[Position, ...] = ()
    licences: Position | None = None

    def model(self, name: str) -> Position | None:
        return self.models.get(name)


def _key_position(mapping: Any, key: str) -> Position | None:
    try:
        line, column = mapping.lc.key(key)
    except (AttributeError, KeyError, TypeError):
        return None
    return (int(line) + 1, int(column) + 1)


def _item_position(sequence: Any, index: int) -> Position | None:
    try:
        line, column = sequence.lc.item(index)
    except (AttributeError, KeyError, TypeError, IndexError):
        return None
    return (int(line) + 1, int(column) + 1)


def spec_places(text: str) -> SpecPlaces:
    """Positions in a ``kmodels.yaml`` text; anything missing or malformed simply has no position."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        root = YAML(typ="rt").load(text)
    except YAMLError:
        return SpecPlaces()
    if not isinstance(root, Mapping):
        return SpecPlaces()
    models_node = root.get("models")
    models: dict[str, Position] = {}
    if isinstance(models_node, Mapping):
        for name in models_node:
            found = _key_position(models_node, str(name))
            if found is not None:
                models[str(name)] = found
    policy = root.get("policy")
    licences = policy.get("licenses") if isinstance(policy, Mapping) else None
    licences_at = _key_position(policy, "licenses") if isinstance(policy, Mapping) else None
    exceptions_node = licences.get("exceptions") if isinstance(licences, Mapping) else None
    exceptions: list[Position] = []
    if isinstance(exceptions_node, list):
        for index in range(len(exceptions_node)):
            exceptions.append(_item_position(exceptions_node, index) or licences_at or (1, 1))
    return SpecPlaces(models, tuple(exceptions), licences_at)
