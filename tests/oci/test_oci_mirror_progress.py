"""Upload progress of ``kmenv mirror`` into a real docker-registry: per blob and in total, as bytes leave.

The events are checked through the action (a sink that records them), the rendering through the CLI:
plain lines when stderr is no terminal, nothing with ``-q``, and stdout holding only the document
under ``--json``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.fetch.progress import ProgressSink

if TYPE_CHECKING:
    from conftest import Runner

    from oci.conftest import RunningRegistry

MiB = 1 << 20


class Recorder(ProgressSink):
    """Every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []

    def begin(self, files: int, total_bytes: int) -> None:
        self.events.append(("begin", str(files), total_bytes))

    def start(self, label: str, total: int) -> None:
        self.events.append(("start", label, total))

    def advance(self, label: str, nbytes: int) -> None:
        self.events.append(("advance", label, nbytes))

    def finish(self, label: str) -> None:
        self.events.append(("finish", label, 0))

    def end(self) -> None:
        self.events.append(("end", "", 0))


def _project(tmp_path: Path, sizes: dict[str, int]) -> Path:
    """A project locking one model whose files have ``sizes``, from a static registry built here, installed."""
    from kmenv.registry.static.build import build_registry

    version = tmp_path / "source" / "acme" / "big" / "pyTorch" / "default" / "1"
    version.mkdir(parents=True)
    (version / "version.json").write_text('{"license": "Apache 2.0", "published": "2026-01-01T00:00:00Z"}')
    rng = random.Random(5)
    for name, size in sizes.items():
        (version / name).write_bytes(rng.randbytes(size))
    build_registry(tmp_path / "source", tmp_path / "static", name="static")
    project = tmp_path / "project"
    project.mkdir()
    registry = f"registries:\n  static:\n    url: {tmp_path / 'static'}\n"
    (project / "kmodels.yaml").write_text(f"version: 1\n{registry}models:\n  big: acme/big/pyTorch/default\n")
    return project


def test_the_sink_hears_each_blob_as_its_bytes_leave_and_a_total(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    from kmenv.actions.mirror import mirror_lock
    from kmenv.actions.project import Runtime
    from kmenv.registry.oci import open_client
    from kmenv.registry.oci.mirror import OciMirror

    sizes = {"weights.bin": 3 * MiB + 17, "config.json": 300, "tokenizer.json": 70_000}
    folder = _project(tmp_path, sizes)
    assert kmenv("-C", folder, "install").code == 0, "the store holds every blob before the mirror"
    project = Runtime().project(folder)
    url = oci_registry.url(namespace)
    recorders: list[Recorder] = []

    def sink() -> Recorder:
        recorders.append(Recorder())
        return recorders[-1]

    target = OciMirror(open_client("mirror", url, settings=project.settings), project.store.blob_path, url=url)
    try:
        outcome = mirror_lock(project, project.open(), target, upload_progress=sink)
    finally:
        target.close()
    assert outcome.blobs_written == 3 and outcome.bytes_written == sum(sizes.values())
    [recorder] = recorders
    events = recorder.events
    assert events[0] == ("begin", "3", sum(sizes.values())) and events[-1] == ("end", "", 0)
    for name, size in sizes.items():
        label = f"acme/big/pyTorch/default/1/{name}"
        mine = [e for e in events if e[1] == label]
        assert mine[0] == ("start", label, size) and mine[-1] == ("finish", label, 0)
        assert sum(n for kind, _, n in mine if kind == "advance") == size
    pieces = [n for kind, label, n in events if kind == "advance" and label.endswith("weights.bin")]
    assert len(pieces) > 3 and max(pieces) < 2 * MiB  # streamed as sent, not counted after the PUT

    target = OciMirror(open_client("mirror", url, settings=project.settings), project.store.blob_path, url=url)
    try:
        again = mirror_lock(project, project.open(), target, upload_progress=sink)
    finally:
        target.close()
    assert again.bytes_written == 0 and len(recorders) == 1  # nothing to upload: no progress at all


def test_the_cli_prints_plain_progress_lines_without_a_terminal_and_none_with_q(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    folder = _project(tmp_path, {"weights.bin": 2 * MiB, "config.json": 123})
    assert kmenv("-C", folder, "install").code == 0
    url = oci_registry.url(namespace)

    quiet = kmenv("-q", "-C", folder, "mirror", "--to", f"{url}-q")
    assert quiet.code == 0, quiet.err
    assert quiet.err == "" and "to upload" not in quiet.out

    shown = kmenv("-v", "-C", folder, "mirror", "--to", url, "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["bytes_written"] == 2 * MiB + 123  # stdout is the document alone
    assert "  2 files, 2.0 MiB to upload" in shown.err
    assert "  uploaded acme/big/pyTorch/default/1/weights.bin" in shown.err
    assert "  uploaded acme/big/pyTorch/default/1/config.json" in shown.err

    again = kmenv("-C", folder, "mirror", "--to", url)
    assert again.code == 0 and "to upload" not in again.err and "0 written" in again.out


def test_a_retried_upload_takes_back_the_bytes_its_failed_try_counted(tmp_path: Path) -> None:
    from kmenv.registry.oci.push import _counting

    blob = tmp_path / "blob"
    blob.write_bytes(b"x" * 1000)
    heard: list[int] = []
    reopen = _counting(lambda: blob.open("rb"), heard.append)
    first = reopen()
    assert first.read(300) == b"x" * 300  # the connection broke here
    first.close()
    second = reopen()
    assert len(second.read()) == 1000
    second.close()
    assert heard == [300, -300, 1000] and sum(heard) == 1000
