"""The ``emulator`` fixture, loaded by the Kaggle test modules with ``pytest_plugins = ["kaggle_fixtures"]``.

A plugin module rather than a conftest.py: a second conftest module would shadow ``tests/conftest.py``
for the tests that import helpers from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from catalogue import populate
from kaggle_emulator import KaggleEmulator


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[KaggleEmulator]:
    """A running emulator serving the catalogue of ``catalogue.py``; ``KMENV_KAGGLE_URL`` points at it."""
    with KaggleEmulator() as emu:
        populate(emu)
        monkeypatch.setenv("KMENV_KAGGLE_URL", emu.url)
        yield emu
