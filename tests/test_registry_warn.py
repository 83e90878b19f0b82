"""Registry warnings: routed to whatever the caller passes, by default stderr once per message."""

from __future__ import annotations

import pytest

from kmenv.registry.warn import once, warn_once_to_stderr


def test_once_passes_each_distinct_message_on_a_single_time() -> None:
    seen: list[str] = []
    warn = once(seen.append)
    for message in ("a", "b", "a", "b", "c"):
        warn(message)
    assert seen == ["a", "b", "c"]


def test_the_default_prints_a_warning_line_to_stderr_once(capsys: pytest.CaptureFixture[str]) -> None:
    warn_once_to_stderr("kaggle.json in /tmp/test-registry-warn is readable by other users")
    warn_once_to_stderr("kaggle.json in /tmp/test-registry-warn is readable by other users")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "warning: kaggle.json in /tmp/test-registry-warn is readable by other users\n"
