"""The licence table: published licence strings → SPDX expressions, each licence with a category and flags.

The data lives in ``data/licences.json`` (versioned, reviewed like code). It is layered on
``license-expression``'s SPDX licensing, so ``AND``/``OR``/``WITH`` expressions parse and every
SPDX id is recognised even when the table does not list it (its category then comes from the
ScanCode LicenseDB category bundled with that library). Building the licensing costs ~0.1 s, so
it is done lazily, once per process (and once per set of project aliases). Pure: reads package data only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, get_args

#: license-expression ships no type information; its parsed trees and licensings are opaque here.
LicenseExpression = Any
Licensing = Any

__all__ = [
    "CATEGORIES",
    "FLAGS",
    "Category",
    "LicenceInfo",
    "LicenceTable",
    "Normalised",
    "licence_table",
]

#: A licence category; kmodels.yaml's ``allow-categories``/``deny-categories`` accept exactly these.
Category = Literal[
    "public-domain",
    "permissive",
    "weak-copyleft",
    "copyleft",
    "non-commercial",
    "use-restricted",
    "proprietary",
    "unknown",
]
#: The categories, from least to most restrictive (``unknown`` last: it cannot be judged).
CATEGORIES: tuple[str, ...] = get_args(Category)
FLAGS = ("no-derivatives", "agreement-required")

# ScanCode LicenseDB categories (bundled with license-expression) → ours, for SPDX ids the table does not list.
_SCANCODE = {
    "Public Domain": "public-domain",
    "Permissive": "permissive",
    "Copyleft Limited": "weak-copyleft",
    "Copyleft": "copyleft",
    "Free Restricted": "use-restricted",
    "Proprietary Free": "proprietary",
    "Commercial": "proprietary",
    "Source-available": "proprietary",
    "CLA": "proprietary",
    "Patent License": "proprietary",
    "Unstated License": "unknown",
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")


def _key(text: str) -> str:
    """Lookup form of a published string: case- and whitespace-insensitive."""
    return " ".join(text.split()).lower()


@dataclass(frozen=True)
class LicenceInfo:
    """One licence: ``id`` (SPDX or ``LicenseRef-…``), full ``name``, ``category``, ``flags``.

    ``listed`` is True for licences kmenv's table describes, False for SPDX ids known only
    from the SPDX data (category derived) and for a project's own ``LicenseRef-`` ids.
    """

    id: str
    name: str
    category: str
    flags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    listed: bool = True


@dataclass(frozen=True)
class Normalised:
    """A published licence string, normalised.

    ``status``: ``ok`` (every id known), ``unknown`` (parsed, but some ids are not licences kmenv
    knows), ``unparseable`` (not an expression), ``missing`` (nothing published). ``expression``
    is the parsed tree (``None`` unless ok/unknown); ``text`` its rendering; ``unknown`` lists the
    unrecognised ids; ``error`` says why parsing failed.
    """

    published: str | None
    status: Literal["ok", "unknown", "unparseable", "missing"]
    expression: LicenseExpression | None = None
    text: str | None = None
    unknown: tuple[str, ...] = ()
    error: str | None = None

    @property
    def spdx(self) -> str | None:
        """The normalised expression when every id in it is known, else ``None``."""
        return self.text if self.status == "ok" else None


class LicenceTable:
    """The loaded table plus an SPDX licensing that knows every alias; build with :func:`licence_table`.

    The licensing (``license-expression``'s parser over every SPDX id and alias) costs ~60 ms to build, and
    most projects publish one plain licence per model. So a string that is exactly one of the table's
    spellings reads as that licence without it; the licensing is built on the first expression
    (``MIT OR Apache-2.0``), SPDX id outside the table or unknown string, or when asked for.
    """

    def __init__(
        self,
        version: str,
        categories: Mapping[str, str],
        entries: tuple[LicenceInfo, ...],
        licensing: Licensing | None = None,
    ) -> None:
        self.version = version
        self.categories = dict(categories)
        self.entries = entries
        self._built: Licensing | None = licensing
        self._by_id = {e.id.lower(): e for e in entries}
        self._by_alias: dict[str, str] = {}
        for entry in entries:  # refused here, as building the licensing would refuse it, but at once
            for spelling in (entry.id, *entry.aliases):
                if self._by_alias.setdefault(_key(spelling), entry.id) != entry.id:
                    claimed = self._by_alias[_key(spelling)]
                    raise ValueError(f"the licence spelling {spelling!r} is claimed by {claimed} and {entry.id}")
        self._spdx_categories = _spdx_categories()
        self._memo: dict[str | None, Normalised] = {}

    def info(self, licence_id: str) -> LicenceInfo | None:
        """What the table knows of one id (case-insensitive); SPDX-only ids get a derived category."""
        found = self._by_id.get(licence_id.lower())
        if found is not None:
            return found
        derived = self._spdx_categories.get(licence_id.lower())
        if derived is not None:
            spdx_id, category = derived
            return LicenceInfo(spdx_id, spdx_id, category, listed=False)
        return None

    def normalise(self, published: str | None) -> Normalised:
        """Parse a published string (display name, id or SPDX expression) into a normalised expression.

        Memoised per string: a resolve asks about the same few licence strings thousands of times.
        """
        found = self._memo.get(published)
        if found is None:
            found = self._memo[published] = self._normalise(published)
        return found

    def _normalise(self, published: str | None) -> Normalised:
        if published is None or not published.strip():
            return Normalised(published, "missing")
        whole = self._by_alias.get(_key(published))
        if whole is not None and is_licence_id(whole):
            from license_expression import LicenseSymbol  # type: ignore[import-untyped]

            return Normalised(published, "ok", LicenseSymbol(whole), whole)  # what the licensing parses it to
        text = whole if whole is not None else " ".join(published.split())
        try:
            expression = self.licensing.parse(text, validate=False, strict=False)
        except Exception as exc:  # license-expression raises several types (see the module docstring)
            return Normalised(published, "unparseable", error=str(exc) or type(exc).__name__)
        if expression is None:
            return Normalised(published, "missing")
        unknown = tuple(dict.fromkeys(self.licensing.unknown_license_keys(expression)))
        rendered = str(expression)
        return Normalised(published, "unknown" if unknown else "ok", expression, rendered, unknown)

    def leaves(self, expression: LicenseExpression) -> Iterator[str]:
        """The licence ids of an expression, ``X WITH Y`` kept as one id (it is its own licensee)."""
        from license_expression import LicenseSymbol

        if type(expression) is LicenseSymbol:  # one id: no licensing needed to list it
            yield str(expression)
            return
        for symbol in self.licensing.license_symbols(expression, decompose=False):
            yield str(symbol)

    def with_aliases(self, aliases: tuple[tuple[str, str], ...]) -> LicenceTable:
        """This table plus a project's aliases (published string → id); a new ``LicenseRef-`` id is proprietary."""
        return _with_aliases(self, aliases)

    @property
    def licensing(self) -> Licensing:
        """The SPDX licensing with the table's aliases, built on first use (:func:`build_licensing`)."""
        if self._built is None:
            self._built = build_licensing(self.entries)
        return self._built

    @property
    def built(self) -> bool:
        """Whether the licensing has been built (for tests of the cost)."""
        return self._built is not None


def _read_data() -> dict[str, Any]:
    text = resources.files("kmenv.policy").joinpath("data/licences.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _entries(data: Mapping[str, Any]) -> tuple[LicenceInfo, ...]:
    return tuple(
        LicenceInfo(
            id=e["id"],
            name=e["name"],
            category=e["category"],
            flags=tuple(e.get("flags", ())),
            aliases=tuple(e.get("aliases", ())),
        )
        for e in data["licences"]
    )


@functools.cache
def _spdx_index() -> tuple[dict[str, Any], ...]:
    from license_expression import get_license_index

    return tuple(e for e in get_license_index() if e.get("spdx_license_key"))


@functools.cache
def _spdx_categories() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for e in _spdx_index():
        category = _SCANCODE.get(e.get("category") or "", "unknown")
        for key in (e["spdx_license_key"], *e.get("other_spdx_license_keys", ())):
            found.setdefault(key.lower(), (e["spdx_license_key"], category))
    return found


def build_licensing(entries: tuple[LicenceInfo, ...]) -> Licensing:
    """The SPDX licensing with the table's aliases added (a table alias overrides an SPDX alias of the same text).

    Raises ``ValueError`` when two licences claim one alias: the table must be unambiguous.
    """
    from license_expression import build_spdx_licensing

    claimed = {_key(alias) for e in entries for alias in e.aliases}
    index: dict[str, dict[str, Any]] = {}
    for e in _spdx_index():
        others = [a for a in e.get("other_spdx_license_keys", ()) if _key(a) not in claimed]
        index[e["spdx_license_key"].lower()] = {**e, "other_spdx_license_keys": others}
    for entry in entries:
        existing = index.get(entry.id.lower())
        if existing is None:
            index[entry.id.lower()] = {"spdx_license_key": entry.id, "other_spdx_license_keys": list(entry.aliases)}
        else:
            aliases = [a for a in entry.aliases if _key(a) != _key(existing["spdx_license_key"])]
            existing["other_spdx_license_keys"] = [*existing["other_spdx_license_keys"], *aliases]
    return build_spdx_licensing(list(index.values()))


@functools.cache
def licence_table() -> LicenceTable:
    """The bundled table, loaded on first use."""
    data = _read_data()
    entries = _entries(data)
    return LicenceTable(data["version"], data["categories"], entries)


@functools.cache
def _with_aliases(base: LicenceTable, aliases: tuple[tuple[str, str], ...]) -> LicenceTable:
    if not aliases:
        return base
    by_id = {e.id.lower(): e for e in base.entries}
    added: dict[str, LicenceInfo] = {}
    for published, target in aliases:
        current = added.get(target.lower()) or by_id.get(target.lower()) or base.info(target)
        if current is None:
            current = LicenceInfo(target, target, "proprietary", listed=False)
        added[current.id.lower()] = LicenceInfo(
            current.id, current.name, current.category, current.flags, (*current.aliases, published), current.listed
        )
    stripped = {_key(p) for p, _ in aliases}
    entries = tuple(
        added.pop(e.id.lower())
        if e.id.lower() in added
        else LicenceInfo(e.id, e.name, e.category, e.flags, tuple(a for a in e.aliases if _key(a) not in stripped))
        for e in base.entries
    )
    entries = (*entries, *added.values())
    return LicenceTable(base.version, base.categories, entries)


def is_licence_id(text: str) -> bool:
    """Whether ``text`` looks like one licence id (``MIT``, ``LicenseRef-acme-1``), not an expression."""
    return bool(_ID.match(text))
