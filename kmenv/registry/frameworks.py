"""The framework → library table a run's registries apply to every candidate, whatever the registry.

The built-in table is :data:`kmenv.values.target.FRAMEWORK_LIBRARIES`; a user may override it in
``$KMENV_CONFIG_DIR/frameworks.json``: ``{"pyTorch": {"torch": ">=2"}, "gguf": {"llama-cpp-python": ""}}``.
An entry replaces the built-in one for that framework (``{}`` means "needs nothing"). The merge of
the table with a version's own requirements is :func:`kmenv.values.target.framework_requirements`;
:func:`kmenv.registry.open.open_registry` hands the loaded table to every registry it opens.
"""

from __future__ import annotations

from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from kmenv.errors import UsageError
from kmenv.fs.bounded import read_json_file
from kmenv.values.documents import DocumentRefused, JsonBounds
from kmenv.values.handles import normalise_framework
from kmenv.values.target import FRAMEWORK_LIBRARIES

__all__ = ["FRAMEWORKS_FILE", "load_framework_table"]

FRAMEWORKS_FILE = "frameworks.json"
_EXAMPLE = 'write e.g. {"pyTorch": {"torch": ">=2"}}'
#: How ``frameworks.json`` is bounded when read: a table of a few dozen frameworks is a few KiB.
_BOUNDS = JsonBounds(1024 * 1024)


def load_framework_table(config_dir: Path | None) -> dict[str, dict[str, str]]:
    """The built-in framework → library table with ``<config_dir>/frameworks.json`` applied."""
    table = {fw: dict(libs) for fw, libs in FRAMEWORK_LIBRARIES.items()}
    if config_dir is None:
        return table
    path = config_dir / FRAMEWORKS_FILE
    try:
        raw = read_json_file(path, _BOUNDS)
    except DocumentRefused as refused:
        raise UsageError(f"{refused.place(str(path))}: {refused.message}", hint=_EXAMPLE) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})", hint="check its permissions") from None
    if raw is None:
        return table
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: the top level must be an object", hint=_EXAMPLE)
    for key, libs in raw.items():
        framework = normalise_framework(str(key))
        if framework is None:
            raise UsageError(
                f"{path}: {key!r} is not a Kaggle framework", hint="use handle spellings such as pyTorch, keras, gguf"
            )
        if not isinstance(libs, dict) or not all(isinstance(v, str) for v in libs.values()):
            raise UsageError(f"{path}: {key}: expected an object of library → version specifier strings")
        for lib, spec in libs.items():
            try:
                SpecifierSet(spec)
            except InvalidSpecifier:
                raise UsageError(
                    f"{path}: {key}.{lib}: {spec!r} is not a version specifier", hint='e.g. >=2 or ""'
                ) from None
        table[framework] = dict(libs)
    return table
