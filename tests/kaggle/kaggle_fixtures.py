"""The ``emulator`` fixture (and ``people``, ``who`` for the identity tests), loaded by the Kaggle test
modules with ``pytest_plugins = ["kaggle_fixtures"]``.

A plugin module rather than a conftest.py: a second conftest module would shadow ``tests/conftest.py``
for the tests that import helpers from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from catalogue import populate
from identities import Who, add_people
from kaggle_emulator import KaggleEmulator


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[KaggleEmulator]:
    """A running emulator serving the catalogue of ``catalogue.py``; ``KMENV_KAGGLE_URL`` points at it."""
    with KaggleEmulator() as emu:
        populate(emu)
        monkeypatch.setenv("KMENV_KAGGLE_URL", emu.url)
        yield emu


@pytest.fixture
def people(emulator: KaggleEmulator) -> KaggleEmulator:
    """The emulator with the people of ``identities.py`` (bob, carol) beside the catalogue's alice."""
    return add_people(emulator)


@pytest.fixture
def who(monkeypatch: pytest.MonkeyPatch) -> Who:
    """Sets the Kaggle credentials the next run reads (``who()`` for none)."""
    return Who(monkeypatch)
