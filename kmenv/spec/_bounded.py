"""The YAML reader every parse of ``kmodels.yaml`` uses: ruamel.yaml's round-trip loader, bounded while it composes.

ruamel.yaml composes nodes recursively and shares an anchored node between its aliases, so an alias bomb costs nothing
until something walks the tree expanded (the constructor, :func:`~kmenv.spec._problems.plain`, pydantic) and never
finishes. :class:`BoundedComposer` counts as it goes and stops at the first node past a bound of
:mod:`kmenv.spec.limits` (depth, scalar length, digits of a number, nodes added by aliases), and refuses what has no
meaning in kmodels.yaml (merge keys, keys that are lists or mappings, tags beyond the core schema, an alias inside
its own anchor), raising :class:`BoundExceeded` with the place.
Pure: text in, nodes out.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import StreamMark
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kmenv.spec.limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_NUMBER_CHARS, MAX_SCALAR_CHARS

__all__ = ["BoundExceeded", "BoundedComposer", "bounded_yaml"]

_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: The explicit tags with a meaning in kmodels.yaml; others (!!omap, !!set, !!binary, !!python/..., !local) are refused.
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq"))


class BoundExceeded(Exception):
    """The document passed a bound (or used a merge key) at ``mark``; ``message`` and ``hint`` say which."""

    def __init__(self, message: str, hint: str, mark: StreamMark) -> None:
        super().__init__(message)
        self.message, self.hint, self.mark = message, hint, mark


class BoundedComposer(Composer):
    """ruamel.yaml's composer with a depth, scalar, number and alias-expansion budget per document."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # YAML lets an anchor be redefined; a warning per one would flood stderr
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for once aliases are expanded
        self._expanded = 0
        self._depth = 0  # our own count: ruamel.yaml keeps one only from 0.19 on

    def compose_document(self) -> Any:
        self._sizes, self._expanded = {}, 0
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:
                self._charge_alias(target, event.start_mark)
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise BoundExceeded(
                f"nested more than {MAX_DEPTH} levels deep",
                "kmodels.yaml nests a few levels; check for unclosed brackets or runaway indentation",
                event.start_mark,
            )
        tag = getattr(event, "ctag", None)
        if tag is not None and str(tag) not in _PLAIN_TAGS and str(tag) != "!":
            raise BoundExceeded(
                f"the tag {str(tag).replace('tag:yaml.org,2002:', '!!')!r} has no meaning in kmodels.yaml",
                "remove the tag; write the value as plain text, a list or a mapping",
                event.start_mark,
            )
        is_key = isinstance(parent, MappingNode) and index is None
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if is_key and not isinstance(node, ScalarNode):
            raise BoundExceeded(
                "a key must be text, not a list or a mapping",
                "write the key as plain text before its colon",
                node.start_mark,
            )
        if isinstance(node, ScalarNode):
            self._check_scalar(node, is_key=is_key)
            size = 1
        elif isinstance(node, SequenceNode):
            size = 1 + sum(self._sizes[id(item)] for item in node.value)
        else:
            assert isinstance(node, MappingNode)
            size = 1 + sum(self._sizes[id(key)] + self._sizes[id(value)] for key, value in node.value)
        self._sizes[id(node)] = size
        return node

    def _charge_alias(self, target: Node, mark: StreamMark) -> None:
        size = self._sizes.get(id(target))
        if size is None:
            raise BoundExceeded(
                "this alias refers to the node it is inside, which makes a structure without end",
                "write the value out instead of using an alias",
                mark,
            )
        self._expanded += size
        if self._expanded > MAX_ALIAS_NODES:
            raise BoundExceeded(
                f"aliases expand to more than {MAX_ALIAS_NODES} values",
                "write the values out; kmodels.yaml needs few or no aliases (*name)",
                mark,
            )

    def _check_scalar(self, node: ScalarNode, *, is_key: bool) -> None:
        tag = str(node.tag)
        if is_key and tag == _MERGE_TAG:
            raise BoundExceeded(
                "merge keys (<<) are not supported in kmodels.yaml",
                "write the keys out in full under each entry",
                node.start_mark,
            )
        length = len(node.value)
        if length > MAX_SCALAR_CHARS:
            raise BoundExceeded(
                f"a value of {length} characters; the most kmodels.yaml allows is {MAX_SCALAR_CHARS}",
                "shorten it; handles, versions and globs are short",
                node.start_mark,
            )
        if tag in _NUMBER_TAGS and length > MAX_NUMBER_CHARS:
            raise BoundExceeded(
                f"a number of {length} characters; the most kmodels.yaml reads is {MAX_NUMBER_CHARS}",
                'quote it if it is text: "..."',
                node.start_mark,
            )


def bounded_yaml(*, allow_duplicate_keys: bool = False) -> YAML:
    """A round-trip YAML loader whose composer keeps within the bounds of :mod:`kmenv.spec.limits`."""
    yaml = YAML(typ="rt")
    yaml.Composer = BoundedComposer
    yaml.allow_duplicate_keys = allow_duplicate_keys
    return yaml
