"""Edits to ``kmodels.yaml`` text (``init``, ``add``, ``remove``) that leave every other byte as it was.

A full ruamel.yaml round trip re-indents the file to one style, collapses the spacing before comments and attaches
trailing comments to the last entry (so a new entry lands after them). Instead, ruamel.yaml's round-trip parser finds
the exact character span of the ``models:`` mapping and its entries, ruamel.yaml's emitter renders the new entry
(quoting it as YAML requires), and the edit splices text at those spans. Pure: text in, text out.
"""

from __future__ import annotations

import difflib
import io
import re
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kmenv.errors import NotInstalledError, SpecError, UsageError
from kmenv.spec._bounded import bounded_yaml
from kmenv.spec.document import parse_spec
from kmenv.values.handles import Handle

__all__ = ["add_model", "default_name", "remove_model", "set_model_versions", "starter_text"]

_STARTER = """\
# kmodels.yaml: the models this project uses and the rules they must meet.
#   kmenv add OWNER/MODEL/FRAMEWORK/VARIATION[@VERSIONS]   declare a model (and lock it)
#   kmenv install                                          download and install what kmodels.lock holds
version: 1

# Where models come from, in order; the first is the default. Without this section: Kaggle.
{registries}
# The Python environment the models must fit. Without it, requirements are recorded but not checked.
# environment:
#   python: "3.11"
#   packages:
#     torch: "2.3.1"              # quote versions: YAML reads 4.40 as the number 4.4
#   detect: false                 # true: also read the packages installed in this interpreter

# Which licences are acceptable (SPDX ids, or LicenseRef-kmenv-... for model licences).
# policy:
#   licenses:
#     allow: [Apache-2.0, MIT]    # absent: everything not denied
#     deny: [CC-BY-NC-4.0]
#     unknown: deny               # deny | warn | allow
#     exceptions:
#       - model: gemma
#         versions: ">=2"
#         allow: [LicenseRef-kmenv-Gemma]
#         reason: "approved by legal, 2026-10"

# name: handle, handle@versions (PEP 440 over whole numbers: ">=2,<4", "==3"), or a mapping:
#   clf:
#     handle: owner/model         # partial: the resolver picks the framework that fits
#     version: ">=2"
#     files: ["*.json"]           # install only these files
models: {{}}
"""

_COMMENTED_REGISTRIES = """\
# registries:
#   mirror:
#     url: https://models.example.com/registry   # a static registry: a folder, file:// or http(s):// URL
#   kaggle:
#     type: kaggle
"""

_STATIC_REGISTRY = """\
registries:
  {name}:
    {url_line}\
  # kaggle:                       # uncomment to also use Kaggle (models then say registry: kaggle)
  #   type: kaggle
"""


def starter_text(registry_url: str | None = None) -> str:
    """A commented starter ``kmodels.yaml`` for ``kmenv init``; ``registry_url`` makes a static registry the default."""
    if registry_url is None:
        return _STARTER.format(registries=_COMMENTED_REGISTRIES)
    scheme = urlsplit(registry_url).scheme.lower()
    name = "mirror" if scheme in ("http", "https") else "local"
    registries = _STATIC_REGISTRY.format(name=name, url_line=_render_entry("url", registry_url, flow=False))
    text = _STARTER.format(registries=registries)
    parse_spec(text)  # a URL that is no registry location is reported here, with the problem and its hint
    return text


def default_name(handle: Handle) -> str:
    """The name ``kmenv add`` gives a model without ``--name``: the model slug, or ``model-variation``.

    A variation that already starts with the model slug (``gemma`` / ``gemma-2b``) is used alone. The result is
    a safe folder name.
    """
    variation = handle.variation
    if variation is None:
        name = handle.model
    elif variation.lower().startswith(handle.model.lower()):
        name = variation
    else:
        name = f"{handle.model}-{variation}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).lstrip("._-").rstrip(".") or "model"


def add_model(text: str, name: str, entry: str, *, filename: str = "kmodels.yaml") -> str:
    """``text`` with ``name: entry`` appended to ``models:``; ``entry`` is ``handle`` or ``handle@versions``.

    Raises :class:`SpecError` when ``text`` itself has problems, and :class:`UsageError` when the name is taken or
    the new entry is not valid. Never returns text that :func:`~kmenv.spec.document.parse_spec` rejects.
    """
    spec = parse_spec(text, filename)
    if name in {d.name for d in spec.declared_models()}:
        raise UsageError(
            f"{filename}: a model named {name!r} is already declared",
            hint=f"choose another name with --name, or run `kmenv remove {name}` first",
        )
    root = _root(text)
    key, models = _models(root)
    newline = "\r\n" if "\r\n" in text else "\n"
    if models.flow_style and models.value:
        at = models.value[-1][1].end_mark.index
        edited = text[:at] + ", " + _render_entry(name, entry, flow=True) + text[at:]
    else:
        if models.flow_style:  # models: {} becomes a block mapping
            text = _drop_span(text, models.start_mark.index, models.end_mark.index)
            after, indent = _line_end(text, key.end_mark.index), key.start_mark.column + _indent_step(root)
        else:
            after, indent = _line_end(text, _content_end(models)), models.value[0][0].start_mark.column
        if after == len(text) and not text.endswith("\n"):
            text, after = text + newline, after + len(newline)
        line = " " * indent + _render_entry(name, entry, flow=False).replace("\n", newline)
        edited = text[:after] + line + text[after:]
    return _checked(edited, name, filename, "add")


def remove_model(text: str, name: str, *, filename: str = "kmodels.yaml") -> str:
    """``text`` without the entry ``name`` of ``models:`` or of a group's ``models:`` (its lines, comments inside it
    included).

    Comments above or below the entry stay. Removing the last entry leaves ``models: {}``. Raises
    :class:`NotInstalledError` for an undeclared name, and :class:`UsageError` when something still refers to it.
    """
    spec = parse_spec(text, filename)
    declared = {d.name: d.group for d in spec.declared_models()}
    if name not in declared:
        close = difflib.get_close_matches(name, list(declared), n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(map(repr, close))}?" if close else None
        if hint is None:
            hint = f"declared: {', '.join(declared)}" if declared else "no models are declared"
        raise NotInstalledError(f"{filename} declares no model named {name!r}", hint=hint)
    models_key, models = _models(_root(text), declared[name])
    index = next(i for i, (key, _) in enumerate(models.value) if isinstance(key, ScalarNode) and key.value == name)
    key, value = models.value[index]
    if len(models.value) == 1 and models.flow_style:
        edited = text[: models.start_mark.index] + "{}" + text[models.end_mark.index :]
    elif models.flow_style and index + 1 < len(models.value):
        edited = text[: key.start_mark.index] + text[models.value[index + 1][0].start_mark.index :]
    elif models.flow_style:
        edited = text[: models.value[index - 1][1].end_mark.index] + text[value.end_mark.index :]
    else:
        start = text.rfind("\n", 0, key.start_mark.index) + 1
        edited = text[:start] + text[_line_end(text, _content_end(value)) :]
        if len(models.value) == 1:
            colon = text.index(":", models_key.end_mark.index) + 1
            edited = edited[:colon] + " {}" + edited[colon:]
    return _checked(edited, name, filename, "remove")


def set_model_versions(text: str, name: str, versions: str, *, filename: str = "kmodels.yaml") -> str:
    """``text`` with model ``name``'s version constraint set to ``versions`` (``""`` removes the constraint).

    Only the constraint's own characters change: ``handle@>=1,<3`` becomes ``handle@>=1``, a ``version:`` value is
    replaced in place (or a ``version:`` line is added under ``handle:``), and a version pinned in the handle itself
    (``owner/model/framework/variation/2``) is dropped from it. Comments and layout elsewhere stay as they were.
    """
    spec = parse_spec(text, filename)
    if name not in spec.models:
        raise NotInstalledError(f"{filename} declares no model named {name!r}", hint="check the name with `kmenv list`")
    _, models = _models(_root(text))
    value = next(v for k, v in models.value if isinstance(k, ScalarNode) and k.value == name)
    if isinstance(value, ScalarNode):
        handle_text = value.value.partition("@")[0].strip()
        new = _unpinned(handle_text) + (f"@{versions}" if versions else "")
        edited = _replace_scalar(text, value, new)
    else:
        assert isinstance(value, MappingNode), "parse_spec has checked the entry"
        edited = _set_mapping_versions(text, value, versions)
    return _checked(edited, name, filename, "change the version of")


def _unpinned(handle_text: str) -> str:
    handle = Handle.parse(handle_text)
    return str(handle.unversioned()) if handle.version is not None else handle_text


def _scalar_text(node: ScalarNode, value: str) -> str:
    """``value`` as the new text of ``node``: quoted as before when it can be, else as YAML needs."""
    if node.style in ('"', "'") and not any(c in value for c in "\"'\\"):
        return f"{node.style}{value}{node.style}"
    return _render_entry("k", value, flow=True)[len("k: ") :]


def _replace_scalar(text: str, node: ScalarNode, value: str) -> str:
    """``text`` with one scalar's characters (quotes included) replaced by ``value``."""
    return text[: node.start_mark.index] + _scalar_text(node, value) + text[node.end_mark.index :]


def _set_mapping_versions(text: str, entry: MappingNode, versions: str) -> str:
    """Set ``version:`` in a mapping entry; edits go from the end of the text backwards so marks stay valid."""
    fields = {k.value: (k, v) for k, v in entry.value if isinstance(k, ScalarNode)}
    handle_key, handle_value = fields["handle"]
    assert isinstance(handle_value, ScalarNode), "parse_spec has checked handle:"
    found = fields.get("version")
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied from the last one
    if found is not None:
        key, value = found
        assert isinstance(value, ScalarNode), "parse_spec has checked version:"
        if versions:
            edits.append((value.start_mark.index, value.end_mark.index, _scalar_text(value, versions)))
        elif entry.flow_style:
            previous = entry.value[entry.value.index((key, value)) - 1][1]
            edits.append((previous.end_mark.index, value.end_mark.index, ""))
        else:
            start = text.rfind("\n", 0, key.start_mark.index) + 1
            edits.append((start, _line_end(text, _content_end(value)), ""))
    elif versions:
        if entry.flow_style:
            at = handle_value.end_mark.index
            edits.append((at, at, ", " + _render_entry("version", versions, flow=True)))
        else:
            at = _line_end(text, _content_end(handle_value))
            newline = "\r\n" if "\r\n" in text else "\n"
            line = " " * handle_key.start_mark.column + _render_entry("version", versions, flow=False)
            edits.append((at, at, (line if text[at - 1 : at] == "\n" else newline + line).replace("\n", newline)))
    unpinned = _unpinned(handle_value.value)
    if unpinned != handle_value.value:
        edits.append((handle_value.start_mark.index, handle_value.end_mark.index, _scalar_text(handle_value, unpinned)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _render_entry(key: str, value: str, *, flow: bool) -> str:
    """``key: value`` as ruamel.yaml's emitter writes it (quoted where YAML needs it); block form ends in a newline."""
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.default_flow_style = flow
    out = io.StringIO()
    yaml.dump({key: value}, out)
    return out.getvalue().strip()[1:-1] if flow else out.getvalue()


def _checked(edited: str, name: str, filename: str, action: str) -> str:
    """``edited`` if it parses; otherwise the user's request is at fault (the file was fine), so a UsageError."""
    try:
        parse_spec(edited, filename)
    except SpecError as exc:
        own = [p for p in exc.problems if p.key == f"models.{name}" or p.key.startswith(f"models.{name}.")]
        if own:
            raise UsageError(f"cannot {action} {name!r}: {own[0].message}", hint=own[0].hint) from None
        first = exc.problems[0]
        message = f"cannot {action} {name!r}: {first.key}: {first.message}"
        raise UsageError(message, hint=f"change {first.key} in {filename} first") from None
    return edited


def _root(text: str) -> MappingNode:
    """The document's node tree: unlike loaded data, every node knows its start and end in the text."""
    node = bounded_yaml().compose(text)
    assert isinstance(node, MappingNode), "parse_spec has checked the document"
    return node


def _entry(node: MappingNode, name: str) -> tuple[ScalarNode, Node]:
    key, value = next((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == name)
    assert isinstance(key, ScalarNode), "parse_spec has checked the keys"
    return key, value


def _models(root: MappingNode, group: str | None = None) -> tuple[ScalarNode, MappingNode]:
    """The ``models`` key and its mapping (of ``groups.<group>`` when ``group`` is given), with their marks."""
    if group is not None:
        groups = _entry(root, "groups")[1]
        assert isinstance(groups, MappingNode), "parse_spec has checked groups:"
        holder = _entry(groups, group)[1]
        assert isinstance(holder, MappingNode), "parse_spec has checked the group"
        root = holder
    key, value = _entry(root, "models")
    assert isinstance(value, MappingNode), "parse_spec has checked models:"
    return key, value


def _indent_step(root: MappingNode) -> int:
    """How far this file indents a nested block mapping (2 when it has none)."""

    def steps(node: Node, column: int | None) -> list[int]:
        found: list[int] = []
        if isinstance(node, MappingNode) and not node.flow_style and node.value:
            own = node.value[0][0].start_mark.column
            if column is not None and own > column:
                found.append(own - column)
            for _, value in node.value:
                found += steps(value, own)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                found += steps(item, None)
        return found

    return next(iter(steps(root, None)), 2)


def _content_end(node: Node) -> int:
    """Index just past the last character a node's content uses (a block collection's span runs on to the next key)."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return int(node.end_mark.index)


def _line_end(text: str, index: int) -> int:
    """Index of the start of the line after the one holding ``index - 1`` (content ending in a newline ends there)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline == -1 else newline + 1


def _drop_span(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]`` and the spaces before it; a line left blank goes too."""
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    line_start = text.rfind("\n", 0, start) + 1
    if start == line_start and text[end : _line_end(text, end)].strip() == "":
        return text[:line_start] + text[_line_end(text, end) :]
    return text[:start] + text[end:]
