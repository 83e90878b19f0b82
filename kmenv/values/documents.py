"""The one JSON reader for every document kmenv reads: bounded in size, depth and number length, strict about keys.

kmodels.lock, static registry documents, Kaggle answers and cache entries, ``state.json`` and ``frameworks.json``
all come from places a user or a server controls, and Python's own :func:`json.loads` accepts what then breaks
later: nesting deep enough to raise ``RecursionError``, a 5,000-digit number that raises the int-conversion
``ValueError``, ``NaN`` and ``1e400`` (infinity), and a key given twice (the last one silently wins).
:func:`parse_json` refuses each before or while parsing, raising :class:`DocumentRefused` with the line and column
where it can. The fast path stays C speed: places are searched for only once a document has been refused.
Pure: bytes or text in, a value out; the size cap on files and bodies is applied by their readers first
(:mod:`kmenv.fs.bounded`, :mod:`kmenv.fetch.bounded`) and again here.
"""

from __future__ import annotations

import contextlib
import json
import json.decoder
import json.scanner
import math
import re
from dataclasses import dataclass

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install reads documents)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "DocumentRefused",
    "JsonBounds",
    "decode_utf8",
    "oversized",
    "parse_json",
]

#: The deepest nesting of objects and arrays; kmenv's documents nest five levels (models.x.files[0].digests).
DEFAULT_MAX_DEPTH = 64
#: The longest number literal read; sizes and versions have at most 20 digits, and past a few thousand digits
#: Python refuses to convert one.
MAX_NUMBER_CHARS = 100
#: Above this size a refused document is not scanned again for the place of a duplicate key (the scan runs in
#: Python, about 1 s per 4 MiB); the message then names the key only.
_LOCATE_LIMIT = 4 * 1024 * 1024

_STRING = r'"(?:[^"\\\n]|\\.)*"?'
_STRINGS = re.compile(_STRING)
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"\\')
_PAIRS = re.compile(rb"\[\]|\{\}")
_LONG_NUMBER = re.compile(rf"{_STRING}|(-?[0-9][0-9.eE+-]{{{MAX_NUMBER_CHARS},}})")
_CONSTANT = re.compile(rf"{_STRING}|(-?Infinity|NaN)")
_NUMBER = re.compile(rf"{_STRING}|(-?[0-9][0-9.eE+-]*)")


@dataclass(frozen=True)
class JsonBounds:
    """How large one kind of document may be; ``max_bytes`` is per kind, the rest rarely change."""

    max_bytes: int
    max_depth: int = DEFAULT_MAX_DEPTH
    max_number_chars: int = MAX_NUMBER_CHARS


class DocumentRefused(ValueError):
    """A document was refused: ``message`` says why, ``hint`` what to do, ``line``/``column`` where (1-based)."""

    def __init__(self, message: str, hint: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.hint, self.line, self.column = message, hint, line, column

    def place(self, filename: str) -> str:
        """``filename``, with ``:line:column`` when known."""
        if self.line is None:
            return filename
        return f"{filename}:{self.line}" + (f":{self.column}" if self.column is not None else "")


class _Refusal(Exception):
    """Raised from inside :func:`json.loads`'s hooks; located afterwards, where the text is at hand."""

    def __init__(self, kind: str, literal: str) -> None:
        super().__init__(kind)
        self.kind, self.literal = kind, literal


def _at(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _shown(literal: str) -> str:
    return literal if len(literal) <= 40 else literal[:20] + "…" + literal[-8:]


def oversized(bounds: JsonBounds) -> DocumentRefused:
    """The refusal of a document past ``bounds.max_bytes`` (its readers stop reading one byte past it)."""
    return DocumentRefused(
        f"larger than {bounds.max_bytes:,} bytes, the most kmenv reads for this document",
        "is this the right file? a document this large is damaged or not one of kmenv's",
    )


def _decode(data: str | bytes, bounds: JsonBounds) -> str:
    if len(data) > bounds.max_bytes:
        raise oversized(bounds)
    return decode_utf8(data)


def decode_utf8(data: str | bytes) -> str:
    """The text of a document's bytes (UTF-8, a byte-order mark allowed), or :class:`DocumentRefused` where not."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentRefused("the file is UTF-16 text; kmenv reads UTF-8", "save it as UTF-8", line=1, column=1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DocumentRefused("not UTF-8 text", "save it as UTF-8", line=line, column=column) from None


def _brackets(text: str) -> bytes:
    """The brackets of ``text`` outside strings, in order: a few C passes, however long the text."""
    reduced = text.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    if b"\\" in reduced:  # an escape may hide a quote: drop the strings of the text itself
        reduced = _STRINGS.sub("", text).encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    return b"".join(reduced.split(b'"')[::2])  # outside strings, quotes alternate: open, close


def _check_depth(text: str, limit: int) -> None:
    """Refuse nesting past ``limit`` before parsing: the brackets outside strings, then matched pairs dropped
    ``limit`` times.

    Every pass runs in C; what is left after ``limit`` passes is nested deeper (or unbalanced, which the parser
    reports itself), and only then is the first bracket past the limit searched for.
    """
    brackets = _brackets(text)
    for _ in range(limit):
        if not brackets:
            return
        brackets, removed = _PAIRS.subn(b"", brackets)
        if not removed:
            break
    if not brackets:
        return
    depth = 0
    for match in re.finditer(rf"{_STRING}|([\[{{])|([\]}}])", text):
        if match.group(1):
            depth += 1
            if depth > limit:
                line, column = _at(text, match.start())
                raise DocumentRefused(
                    f"nested more than {limit} levels deep",
                    "kmenv's documents nest a few levels; the file is damaged or not one of kmenv's",
                    line=line,
                    column=column,
                )
        elif match.group(2):
            depth -= 1


def _first(pattern: re.Pattern[str], text: str, wanted: str | None = None) -> tuple[int | None, int | None]:
    """Line and column of the first token ``pattern`` captures outside strings (equal to ``wanted`` when given)."""
    for match in pattern.finditer(text):
        token = match.group(1)
        if token and (wanted is None or token == wanted):
            return _at(text, match.start(1))
    return None, None


def _duplicate_place(text: str, key: str) -> tuple[int | None, int | None]:
    """Where ``key`` is given a second time in one object: a pure-Python parse that remembers where keys start."""
    if len(text) > _LOCATE_LIMIT:
        return None, None
    found: list[int] = []

    class Found(Exception):
        """The place is known; the rest of the document need not be read."""

    decoder: Any = json.JSONDecoder()
    internals: Any = json.decoder  # the stdlib's own pure-Python pieces, untyped in typeshed
    scanner: Any = json.scanner
    scanstring, whitespace = internals.scanstring, internals.WHITESPACE.match

    def parse_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, *_: object) -> tuple[object, int]:
        s, end = s_and_end
        seen: set[str] = set()
        pairs: dict[str, object] = {}
        end = whitespace(s, end).end()
        if s[end : end + 1] == "}":
            return pairs, end + 1
        while True:
            start = end
            name, end = scanstring(s, end + 1, strict)
            if name in seen and name == key:
                found.append(start)
                raise Found
            seen.add(name)
            end = whitespace(s, end).end() + 1  # past ':'
            end = whitespace(s, end).end()
            value, end = scan_once(s, end)
            pairs[name] = value
            end = whitespace(s, end).end()
            if s[end : end + 1] == "}":
                return pairs, end + 1
            end = whitespace(s, end + 1).end()

    decoder.parse_object = parse_object
    decoder.scan_once = scanner.py_make_scanner(decoder)
    with contextlib.suppress(Found, ValueError, RecursionError):
        decoder.decode(text)
    return _at(text, found[0]) if found else (None, None)


def parse_json(data: str | bytes, bounds: JsonBounds) -> object:
    """The JSON value of ``data`` (UTF-8; a byte-order mark is allowed), or :class:`DocumentRefused` saying why.

    Refused: more than ``bounds.max_bytes``, not UTF-8, invalid JSON, nesting past ``bounds.max_depth``, a number
    literal longer than ``bounds.max_number_chars``, ``NaN``/``Infinity`` or a number too large to be finite, and
    an object that names a key twice.
    """
    text = _decode(data, bounds)
    _check_depth(text, bounds.max_depth)

    def number(literal: str) -> str:
        if len(literal) > bounds.max_number_chars:
            raise _Refusal("long", literal)
        return literal

    def as_int(literal: str) -> int:
        return int(number(literal))

    def as_float(literal: str) -> float:
        value = float(number(literal))
        if not math.isfinite(value):
            raise _Refusal("infinite", literal)
        return value

    def constant(literal: str) -> object:
        raise _Refusal("constant", literal)

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        result = dict(items)
        if len(result) != len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    raise _Refusal("duplicate", key)
                seen.add(key)
        return result

    try:
        return json.loads(
            text, parse_int=as_int, parse_float=as_float, parse_constant=constant, object_pairs_hook=pairs
        )
    except json.JSONDecodeError as exc:
        raise DocumentRefused(
            f"not valid JSON ({exc.msg})",
            "the file is damaged or not JSON; a web page instead of JSON gives this",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except RecursionError:  # unbalanced brackets the depth check left to the parser
        raise DocumentRefused(
            f"nested more than {bounds.max_depth} levels deep", "the file is damaged or not one of kmenv's"
        ) from None
    except _Refusal as refusal:
        raise _located(refusal, text, bounds) from None


def _located(refusal: _Refusal, text: str, bounds: JsonBounds) -> DocumentRefused:
    literal = refusal.literal
    if refusal.kind == "duplicate":
        line, column = _duplicate_place(text, literal)
        return DocumentRefused(
            f"the key {json.dumps(_shown(literal), ensure_ascii=False)} appears twice in one object",
            "keep one of them; JSON readers disagree about which one counts",
            line=line,
            column=column,
        )
    if refusal.kind == "long":
        line, column = _first(_LONG_NUMBER, text)
        return DocumentRefused(
            f"a number of {len(literal):,} characters ({_shown(literal)}); the most kmenv reads is "
            f"{bounds.max_number_chars}",
            "sizes and versions are short whole numbers; the file is damaged",
            line=line,
            column=column,
        )
    if refusal.kind == "constant":
        line, column = _first(_CONSTANT, text, literal)
    else:
        line, column = _first(_NUMBER, text, literal)
    return DocumentRefused(
        f"{_shown(literal)} is not a finite number",
        "JSON numbers here are sizes and versions; NaN and infinities are not allowed",
        line=line,
        column=column,
    )
