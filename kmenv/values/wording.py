"""How a count reads in a message: ``1 model``, ``2 models``, ``0 files``, ``3 entries``.

The one home of the rule (the noun is singular for exactly one, plural otherwise), so no message
says "1 models" or "1 file(s)". :mod:`kmenv.errors` imports nothing of kmenv and spells it inline.
"""

from __future__ import annotations

__all__ = ["counted"]

#: Plurals that are not the noun plus "s".
_IRREGULAR = {"entry": "entries"}


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` followed by ``noun``, in the plural unless ``count`` is exactly 1 (``plural`` when irregular)."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural or _IRREGULAR.get(noun) or noun + 's'}"
