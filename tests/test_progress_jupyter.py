"""``kmenv.install(progress=True)`` in a real Jupyter kernel draws its bars there (rich's notebook support).

A kernel is started with jupyter_client, runs the install against the Kaggle emulator and its output is read
from the kernel's iopub channel, as a notebook front end reads it. Skipped where ipykernel, ipywidgets or
jupyter_client is not installed (they are not kmenv's dependencies; the ``dev`` extra has them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kaggle_emulator import KaggleEmulator

pytest.importorskip("ipykernel", reason="ipykernel runs the notebook kernel")
pytest.importorskip("ipywidgets", reason="rich draws live bars in a notebook through ipywidgets")
jupyter_client = pytest.importorskip("jupyter_client", reason="jupyter_client talks to the kernel")

HANDLE = "acme/big/pyTorch/default"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[KaggleEmulator]:
    with KaggleEmulator() as emu:
        emu.add_instance("acme", "big", "pyTorch", "default", {1: {"weights.bin": os.urandom(1 << 20)}})
        emu.fault("blob", "slow", delay=0.04)
        monkeypatch.setenv("KMENV_KAGGLE_URL", emu.url)
        Path(os.environ["HOME"]).mkdir(parents=True, exist_ok=True)  # where IPython and Jupyter keep their files
        yield emu


def run_in_kernel(code: str, env: dict[str, str]) -> list[dict[str, Any]]:
    """Every iopub message the kernel sends while running ``code`` (until it is idle again)."""
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(env=env)
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        msg_id = client.execute(code)
        messages = []
        while True:
            msg = client.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_install_with_progress_draws_a_bar_in_a_notebook(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  kaggle:\n    type: kaggle\nmodels:\n  big: {HANDLE}\n"
    )
    code = (
        f"import kmenv\noutcome = kmenv.install({str(folder)!r}, progress=True)\n"
        "print('generation', outcome.generation)"
    )
    messages = run_in_kernel(code, dict(os.environ))

    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert not errors, errors
    printed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    assert "generation 1" in printed
    assert any(
        "application/vnd.jupyter.widget-view+json" in m["content"].get("data", {})
        for m in messages
        if m["msg_type"] == "display_data"
    ), "the bars live in a widget"
    drawn = [m["content"]["data"].get("text/plain", "") for m in messages if m["msg_type"] == "display_data"]
    frames = [text for text in drawn if "total (" in text]
    assert frames, drawn
    assert any(f"{HANDLE}/1/weights.bin" in text for text in frames)
    assert any(re.search(r"\d+\.\d (?:KiB|MiB)/1\.0 MiB", text) for text in frames), frames
    assert not any(re.search(r"\d (?:kB|MB)\b", text) for text in frames)
