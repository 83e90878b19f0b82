"""Who is asking, for the identity tests: more people on the emulator, and switching the credentials a run sends.

The ``people`` fixture (in ``kaggle_fixtures``) adds them with :func:`add_people`; ``who`` is a :class:`Who`:

- ``alice`` (catalogue): owns ``alice/private-thing``; consented to the gated ``google/gemma`` licence.
- ``bob``: a valid key, no share of the private model, never consented.
- ``carol``: signs in with a token; a collaborator on ``alice/private-thing``; consented to ``google/gemma``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from catalogue import ALICE_KEY

if TYPE_CHECKING:
    from kaggle_emulator import KaggleEmulator

BOB_KEY = "bob-secret-key-0002"
CAROL_TOKEN = "KGAT_c4r01c4r01c4r01c4r01c4r01c4r0"
PRIVATE = "alice/private-thing/other/v1"
GATED = "google/gemma/pyTorch/2b"
SECRETS = (ALICE_KEY, BOB_KEY, CAROL_TOKEN, "wrong-key-9999")


class Who:
    """Sets the credentials of the next run: ``who()`` none, ``who("alice")`` a user's key, ``who(token=...)``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def __call__(self, user: str | None = None, key: str | None = None, *, token: str | None = None) -> None:
        for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
            self._monkeypatch.delenv(var, raising=False)
        if token is not None:
            self._monkeypatch.setenv("KAGGLE_API_TOKEN", token)
        if user is not None:
            self._monkeypatch.setenv("KAGGLE_USERNAME", user)
            self._monkeypatch.setenv("KAGGLE_KEY", key or {"alice": ALICE_KEY, "bob": BOB_KEY}[user])


def add_people(emulator: KaggleEmulator) -> KaggleEmulator:
    """Bob and carol on ``emulator``, carol sharing the private model, alice and carol consented to gemma."""
    emulator.users["bob"] = BOB_KEY
    emulator.tokens[CAROL_TOKEN] = "carol"
    private = emulator.find("alice", "private-thing")
    assert private is not None
    private.collaborators.append("carol")
    emulator.consented.update({"alice", "carol"})
    return emulator
