"""Where ``kmodels.yaml`` goes wrong and what to do about it: YAML problems and pydantic errors as located Problems.

:mod:`kmenv.spec.document` defines what a valid file is; this module places each problem at its line, column and key
path with a hint: syntax errors, duplicate keys, numbers that lose digits, references between keys, "did you mean"
suggestions drawn from the schema. The schema comes in as an argument, so this module never imports the spec models
and no cycle forms. Pure: it works on text and on the round-trip document, never on the disk.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from kmenv.errors import HandleError, Problem, SpecError
from kmenv.spec._bounded import BoundExceeded, bounded_yaml
from kmenv.spec._located import clipped, located, too_large
from kmenv.values.handles import Handle

__all__ = [
    "Finding",
    "Loc",
    "Placer",
    "cross_references",
    "explain",
    "format_version_findings",
    "lossy_numbers",
    "plain",
    "read_yaml",
]

#: A place in the document as pydantic spells it: keys and list indexes, ``[key]`` last to point at the key itself.
Loc = tuple[str | int, ...]
#: One problem before it is placed in the file: where (a pydantic-style loc), what, and what to do.
Finding = tuple[Loc, str, str | None]


# --- reading YAML with positions ------------------------------------------------------------------------------------


def read_yaml(text: str, filename: str) -> tuple[Any, list[Problem]]:
    """The round-trip document (it keeps positions) and a problem per duplicate key; syntax errors raise.

    The bounds of :mod:`kmenv.spec.limits` hold throughout: a file past them is one located problem, never a hang.
    """
    oversized = too_large(text, filename)
    if oversized is not None:
        raise oversized
    try:
        try:
            return bounded_yaml().load(text), []
        except DuplicateKeyError:
            duplicates = [Problem(filename, *d) for d in _duplicate_keys(bounded_yaml().compose(text), ())]
            return bounded_yaml(allow_duplicate_keys=True).load(text), duplicates
    except BoundExceeded as exc:
        raise located(text, exc.mark.index, filename, exc.message, exc.hint) from None
    except ReaderError as exc:
        character = exc.character if isinstance(exc.character, int) else 0
        message = f"the character U+{character:04X} has no place in a YAML file"
        hint = "remove it; kmodels.yaml is plain text (was a binary file saved under this name?)"
        raise located(text, exc.position, filename, message, hint) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc.context}"
        hint = "check the indentation, colons and quotes here"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise SpecError([clipped(Problem(filename, "", message, hint, line=line, column=column))]) from None
    except YAMLError as exc:  # any other complaint of the parser: still a problem with the file, not a crash
        raise SpecError([clipped(Problem(filename, "", f"invalid YAML: {exc}", None))]) from None


def _duplicate_keys(node: Node, path: tuple[str | int, ...]) -> Iterator[tuple[str, str, str, int, int]]:
    """(key, message, hint, line, column) for each repeated key, at its second occurrence."""
    if isinstance(node, MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else ""
            mark = key.start_mark
            if name in first:
                what = "model name" if path[-1:] == ("models",) else "key"
                message = f"duplicate {what} {name!r} (first on line {first[name]})"
                yield (
                    _dotted((*path, name)),
                    message,
                    "each key may appear once; rename or remove one",
                    mark.line + 1,
                    mark.column + 1,
                )
            else:
                first[name] = mark.line + 1
            yield from _duplicate_keys(value, (*path, name))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def plain(node: Any) -> Any:
    """Round-trip containers and scalar subclasses as plain Python values, for pydantic."""
    if isinstance(node, dict):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, (bool, ScalarBoolean)):
        return bool(node)
    for kind in (int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


# --- checks the models cannot make ----------------------------------------------------------------------------------


def format_version_findings(root: Mapping[Any, Any], supported: int) -> tuple[list[Finding], bool]:
    """Findings about ``version:`` (this kmenv reads ``supported``), and whether the rest is worth checking."""
    at: Loc = ("version",)
    if "version" not in root:
        return [(at, "missing version", f"add version: {supported} as the first line")], True
    value = root["version"]
    if not isinstance(value, int) or isinstance(value, (bool, ScalarBoolean)):
        return [(at, f"expected the number {supported}, got {_describe(value)}", f"write version: {supported}")], True
    if value != supported:
        upgrade = f"this kmenv reads version {supported}; upgrade kmenv"
        return [(at, f"format version {value} is not supported", upgrade)], False
    return [], True


def lossy_numbers(root: Mapping[Any, Any], text: str) -> Iterator[Finding]:
    """Versions YAML read as numbers that do not print back as written (``4.40`` became ``4.4``)."""
    environment = root.get("environment")
    if not isinstance(environment, dict):
        return
    places: list[tuple[Loc, Any, Any]] = [(("environment", "python"), environment, "python")]
    packages = environment.get("packages")
    if isinstance(packages, dict):
        places += [(("environment", "packages", name), packages, name) for name in packages]
    lines = text.split("\n")
    for loc, parent, key in places:
        value = parent.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, (bool, ScalarBoolean)) and key in parent.lc.data:
            line, column = parent.lc.data[key][2:4]
            written = re.split(r"\s#|[,\]}]", lines[line][column:], maxsplit=1)[0].strip()
            if written != str(value):
                yield (
                    loc,
                    f"{written} is read as the number {value}, not the version as written",
                    f'quote the version: "{written}"',
                )


def _declarations(root: Mapping[Any, Any]) -> Iterator[tuple[Loc, Any, Any, str | None]]:
    """``(loc of the entry, name, declaration, group)`` for every model under ``models:`` and ``groups.*.models:``."""
    models = root.get("models")
    for name, declaration in (models if isinstance(models, dict) else {}).items():
        yield ("models", name), name, declaration, None
    groups = root.get("groups")
    for group, entry in (groups if isinstance(groups, dict) else {}).items():
        members = entry.get("models") if isinstance(entry, dict) else None
        for name, declaration in (members if isinstance(members, dict) else {}).items():
            yield ("groups", group, "models", name), name, declaration, str(group)


def _where(group: str | None) -> str:
    return "models:" if group is None else f"groups.{group}.models:"


def cross_references(root: Mapping[Any, Any]) -> Iterator[Finding]:
    """Checks that span keys: registries named by models exist, each model is declared once (across every group),
    names are unique across groups, exceptions match."""
    registries = root.get("registries")
    declared = [str(name) for name in registries] if isinstance(registries, dict) and registries else ["kaggle"]
    by_instance: dict[str, str] = {}
    by_folded_name: dict[str, tuple[str, str | None]] = {}
    names: list[str] = []
    for at, name, declaration, group in _declarations(root):
        entry = declaration if isinstance(declaration, dict) else {}
        handle_text = entry.get("handle") if entry else declaration
        handle_loc: Loc = (*at, "handle") if entry else at
        registry = entry.get("registry")
        if isinstance(registry, str) and registry.strip() and registry.strip() not in declared:
            yield (
                (*at, "registry"),
                f"registry {registry!r} is not declared",
                _choices_hint(registry, declared, "declared"),
            )
        folded = str(name).lower()
        if folded in by_folded_name:
            first, first_group = by_folded_name[folded]
            if first == str(name):
                yield (
                    (*at, "[key]"),
                    f"model name {name!r} is already declared under {_where(first_group)}",
                    "model names are unique across models: and every group (each is a folder); rename one",
                )
                continue
            yield (
                (*at, "[key]"),
                f"model name {name!r} differs from {first!r} only in case",
                "their folders would collide on case-insensitive file systems; rename one",
            )
        by_folded_name.setdefault(folded, (str(name), group))
        names.append(str(name))
        handle = _quiet_handle(handle_text)
        if handle is not None:
            instance = str(handle.unversioned())
            if instance.lower() in by_instance:
                first = by_instance[instance.lower()]
                yield (
                    handle_loc,
                    f"{instance} is already declared as {first!r}",
                    f"declare each model once; remove {first!r} or this one",
                )
            by_instance.setdefault(instance.lower(), str(name))
    yield from _exception_references(root, names)


def _exception_references(root: Mapping[Any, Any], names: list[str]) -> Iterator[Finding]:
    policy = root.get("policy")
    licenses = policy.get("licenses") if isinstance(policy, dict) else None
    exceptions = licenses.get("exceptions") if isinstance(licenses, dict) else None
    for index, exception in enumerate(exceptions if isinstance(exceptions, list) else []):
        model = exception.get("model") if isinstance(exception, dict) else None
        if isinstance(model, str) and model.strip() and "/" not in model and model.strip() not in names:
            loc = ("policy", "licenses", "exceptions", index, "model")
            yield (
                loc,
                f"exception for {model!r}, which models: does not declare",
                _choices_hint(model, names, "declared"),
            )


def _quiet_handle(text: object) -> Handle | None:
    """The handle in a shorthand or handle string, or None when it is malformed (reported elsewhere)."""
    if not isinstance(text, str):
        return None
    try:
        return Handle.parse(text.partition("@")[0])
    except HandleError:
        return None


def _choices_hint(value: str, choices: Sequence[str], label: str) -> str | None:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"{label}: {', '.join(choices)}" if choices else None


# --- pydantic errors in our words -----------------------------------------------------------------------------------

_EXPECTED = {
    "string_type": "text",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}
_MISSING_HINTS = {
    "models": "add models: {} and then kmenv add HANDLE",
    "handle": "every model needs handle: owner/model[/framework/variation]",
    "reason": 'say why the exception is acceptable, e.g. reason: "approved by legal, 2026-10"',
    "allow": "list the licence ids the exception allows, e.g. allow: [LicenseRef-kmenv-Gemma]",
    "model": "name a model under models:, or a full instance handle",
}


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (bool, ScalarBoolean)):
        return str(bool(value)).lower()
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return repr(str(value))
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__


def explain(error: Mapping[str, Any], schema: Callable[[], dict[str, Any]]) -> Finding:
    """A pydantic error as (loc, message, hint); ``[key]`` at the end of loc points the problem at the key.

    ``schema`` returns the JSON schema of the whole file; it is called only for unknown keys, to list the valid ones.
    """
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    ctx = error.get("ctx") or {}
    last = str(loc[-1]) if loc else ""
    if kind == "kmenv":
        return loc, ctx["message"], ctx.get("hint")
    if kind == "missing":
        return loc, f"missing key {last!r}", _MISSING_HINTS.get(last)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema(), loc[:-1])
        close = difflib.get_close_matches(last.lower(), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"valid keys here: {', '.join(allowed)}"
        return (*loc, "[key]"), f"unknown key {last!r}", hint
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else f"write one of: {', '.join(choices)}"
        return loc, f"{_describe(value)} is not one of: {', '.join(choices)}", hint
    if kind in ("string_too_short", "too_short"):
        return loc, "must not be empty", "remove the key to use the default" if last in ("files", "allow") else None
    if kind in _EXPECTED:
        return loc, f"expected {_EXPECTED[kind]}, got {_describe(value)}", _type_hint(_EXPECTED[kind], value, last)
    message = str(error["msg"])
    return loc, message[:1].lower() + message[1:], None


def _type_hint(expected: str, value: object, key: str) -> str | None:
    if expected == "text" and isinstance(value, int) and key in ("version", "versions"):
        return f'write a specifier such as "=={value}" or ">={value}"'
    if expected == "text" and isinstance(value, (int, float)):
        return f'quote it: "{value}"'
    if expected == "true or false":
        return "write true or false"
    if expected == "a mapping" and value is None:
        return "write {} for an empty mapping"
    return "write [a, b], or one '- item' per line" if expected == "a list" else None


def _allowed_keys(schema: dict[str, Any], loc: Loc) -> list[str]:
    """The keys the schema allows in the mapping at ``loc`` (union tags in loc are skipped), for "did you mean"."""
    definitions = schema.get("$defs", {})

    def branches(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if "$ref" in node:
            yield from branches(definitions[node["$ref"].rsplit("/", 1)[-1]])
        elif any(k in node for k in ("anyOf", "oneOf", "allOf")):
            for branch in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
                yield from branches(branch)
        else:
            yield node

    nodes = [schema]
    for part in loc:
        following = []
        for node in (b for n in nodes for b in branches(n)):
            properties = node.get("properties", {})
            if isinstance(part, str) and part in properties:
                following.append(properties[part])
            elif isinstance(part, str) and isinstance(node.get("additionalProperties"), dict):
                following.append(node["additionalProperties"])
            elif isinstance(part, int) and "items" in node:
                following.append(node["items"])
        nodes = following or nodes  # a union tag: stay where we are
    return sorted({key for n in nodes for b in branches(n) for key in b.get("properties", {})})


# --- placing a finding in the file ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placer:
    """Turns a pydantic-style loc into a Problem at the matching key or value of the round-trip document."""

    filename: str
    root: Any

    def __call__(self, loc: Loc, message: str, hint: str | None) -> Problem:
        node, path = self.root, []
        key_at: tuple[int, int] | None = None
        value_at: tuple[int, int] | None = None
        at_key = bool(loc) and loc[-1] == "[key]"
        parts = loc[:-1] if at_key else loc
        for index, part in enumerate(parts):
            if index >= 2 and parts[index - 2] == "models" and part in ("shorthand", "entry"):
                continue  # the union tag pydantic puts after a model's name (under models: or a group's)
            if isinstance(node, CommentedMap) and part in node:
                kl, kc, vl, vc = node.lc.data[part]
                key_at, value_at, node = (kl, kc), (vl, vc), node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line, column = node.lc.data[part]
                key_at = value_at = (line, column)
                node = node[part]
            else:
                at_key = True  # a missing key: point at its parent's key
            path.append(part)
        spot = key_at if at_key or isinstance(node, (dict, list)) or value_at is None else value_at
        line, column = (spot[0] + 1, spot[1] + 1) if spot else (None, None)
        return Problem(self.filename, _dotted(path), message, hint, line=line, column=column)


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text
