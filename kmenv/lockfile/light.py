"""A read-only view of a ``kmodels.lock`` the full parser has already accepted, for the warm install.

:func:`kmenv.lockfile.document.parse_lock` checks a lock against its schema and for consistency, at the cost of
importing the lock model (pydantic). A warm install (every blob in the store) reads a lock whose exact bytes
that parser accepted before (:mod:`kmenv.store.proven_locks`), so here the decoded JSON is only projected onto
what installing needs: each model's registry, handle, version, licence, groups and files, and each registry's
type. The attribute names are those of :class:`~kmenv.lockfile.document.LockedModel`, so the install steps
both paths share take either. Anything this view does not expect raises :class:`ValueError`, and the caller then
takes the full path. Pure: a decoded document in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["LightFile", "LightLicence", "LightLock", "LightModel"]

_DEFAULT_GROUP = "default"  # lockfile.document.DEFAULT_GROUP (checked equal by a test): importing it loads pydantic


@dataclass(frozen=True)
class LightFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class LightLicence:
    published: str | None
    spdx: str | None


@dataclass(frozen=True)
class LightModel:
    handle: str
    version: int
    registry: str
    license: LightLicence
    groups: tuple[str, ...]
    files: tuple[LightFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class LightLock:
    """The models of a lock by name, and the type of each registry its inputs declare."""

    models: Mapping[str, LightModel]
    registry_types: Mapping[str, str]

    @classmethod
    def from_data(cls, data: object) -> LightLock:
        """The view of a decoded lock; ValueError when it is not shaped as the full parser's output is."""
        if not isinstance(data, dict) or data.get("lock-version") != 1:
            raise ValueError("not a version 1 lock")
        inputs, models = data.get("inputs"), data.get("models")
        if not isinstance(inputs, dict) or not isinstance(models, dict):
            raise ValueError("no inputs or models")
        registries = inputs.get("registries")
        if not isinstance(registries, dict):
            raise ValueError("no registries")
        types = {name: _text(entry.get("type")) for name, entry in registries.items() if isinstance(entry, dict)}
        if len(types) != len(registries):
            raise ValueError("a registry is not an object")
        return cls({name: _model(entry) for name, entry in models.items()}, types)

    def selected(self, groups: tuple[str, ...]) -> dict[str, LightModel]:
        """The models some group of ``groups`` needs (:func:`kmenv.lockfile.groups.selected_models`)."""
        chosen = set(groups)
        return {name: model for name, model in self.models.items() if chosen.intersection(model.groups)}


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _number(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("expected a whole number")
    return value


def _model(entry: object) -> LightModel:
    if not isinstance(entry, dict):
        raise ValueError("a model is not an object")
    licence, files = entry.get("license"), entry.get("files")
    groups = entry.get("groups", [_DEFAULT_GROUP])
    if not isinstance(licence, dict) or not isinstance(files, list) or not isinstance(groups, list):
        raise ValueError("a model's licence, files or groups are ill-typed")
    return LightModel(
        handle=_text(entry.get("handle")),
        version=_number(entry.get("version")),
        registry=_text(entry.get("registry")),
        license=LightLicence(_optional_text(licence.get("published")), _optional_text(licence.get("spdx"))),
        groups=tuple(_text(g) for g in groups),
        files=tuple(_file(f) for f in files),
    )


def _file(entry: object) -> LightFile:
    if not isinstance(entry, dict):
        raise ValueError("a file is not an object")
    return LightFile(_text(entry.get("path")), _number(entry.get("size")), _text(entry.get("sha256")))
