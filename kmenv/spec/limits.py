"""How big ``kmodels.yaml`` may be: every bound on reading it, in one place, and the located error for each.

A declaration is a short hand-written file, so each bound sits far above what a real one reaches (a generated project
of 5,000 models is 620 KB, six levels deep, with no scalar past 100 characters) and far below what makes the YAML
parser hang, recurse or flood the terminal. The size cap is applied to the bytes (and again to the text, for callers
that hand text in); the others are applied while the document is composed (:mod:`kmenv.spec._bounded`). Constants
only, importing nothing: the install fast path reads :data:`MAX_SPEC_BYTES` before anything else is loaded. The
errors for each bound are built by :mod:`kmenv.spec._located`.
"""

from __future__ import annotations

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_QUOTED_CHARS",
    "MAX_SCALAR_CHARS",
    "MAX_SPEC_BYTES",
    "MAX_TEXT_CHARS",
]

#: The largest kmodels.yaml read, in bytes (and characters, for text handed in): about 8,000 models.
MAX_SPEC_BYTES = 1024 * 1024
#: The deepest nesting of mappings and lists; a real file nests six levels (policy.licenses.exceptions[0].allow[0]).
MAX_DEPTH = 32
#: The longest scalar (a key or a value), in characters.
MAX_SCALAR_CHARS = 64 * 1024
#: The longest scalar read as a number; past it, converting to int is slow or refused by Python.
MAX_NUMBER_CHARS = 100
#: How many nodes all aliases together may add when expanded; an alias bomb adds billions.
MAX_ALIAS_NODES = 4096
#: The longest run of text without a space quoted in a message; longer runs are cut short with an ellipsis.
MAX_QUOTED_CHARS = 80
#: The longest message, key or hint in a problem, in characters.
MAX_TEXT_CHARS = 400
