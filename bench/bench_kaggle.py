"""Benchmark: ``kmenv download`` beside the official ``kagglehub.model_download``, against the Kaggle emulator.

    python bench/bench_kaggle.py [--mib 300] [--rounds 2]

Starts the test suite's Kaggle emulator (``tests/kaggle_emulator.py``) on 127.0.0.1 with one model of
one ``--mib`` file and the catalogue's 30-file instance (the archive path), and downloads each handle
from a cold cache with both clients, interleaved round by round (best of ``--rounds``). kagglehub
reaches the emulator through ``HTTP_PROXY`` with ``KAGGLE_API_ENVIRONMENT=LOCALHOST``: not ``TEST``, the
fidelity tests' setting, under which kagglesdk's client is verbose and prints every reply, the model's
bytes included (decoded with charset detection: tens of seconds for 300 MiB, no real user's cost). kmenv
runs as users run it. Prints wall time and HTTP requests per client, the ratio, the targets (wall time <= 1.0x
kagglehub, requests <= kagglehub's) and met/MISSED; exits non-zero only on a crash. The emulator is a
Python server sharing the machine's cores with both clients, the same for both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "kaggle")]

from catalogue import populate  # noqa: E402 - the test helpers, found through the path set above
from kaggle_emulator import KaggleEmulator  # noqa: E402

BIG = "acme/bigmodel/pyTorch/base/1"
SHARDS = "acme/shards/pyTorch/many/1"
HUB = "import sys, kagglehub; kagglehub.model_download(sys.argv[1])"


def kagglehub_run(emu: KaggleEmulator, root: Path, handle: str) -> float:
    home = root / "kh-home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(root / "kh-cache", ignore_errors=True)
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "KAGGLE_CONFIG_DIR": str(home / "config"),
        "KAGGLEHUB_CACHE": str(root / "kh-cache"),
        "KAGGLE_API_ENVIRONMENT": "LOCALHOST",  # TEST makes kagglesdk print every reply, bodies included
        "HTTP_PROXY": emu.origin,
        "http_proxy": emu.origin,
        "DISABLE_KAGGLE_CACHE": "true",
        "DISABLE_COLAB_CACHE": "true",
    }
    return timed([sys.executable, "-c", HUB, handle], env)


def kmenv_run(emu: KaggleEmulator, root: Path, handle: str) -> float:
    for stale in ("km-cache", "km-out"):
        shutil.rmtree(root / stale, ignore_errors=True)
    env = {**os.environ, "KMENV_CACHE_DIR": str(root / "km-cache"), "KMENV_KAGGLE_URL": emu.url, "KMENV_NO_LEDGER": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return timed([sys.executable, "-m", "kmenv", "-q", "download", handle, "--path", str(root / "km-out")], env)


def timed(cmd: list[str], env: dict[str, str]) -> float:
    os.sync()
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mib", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "kmenv")], check=True)
    lines = [
        f"kmenv download vs kagglehub.model_download, Kaggle emulator on 127.0.0.1 ({os.cpu_count()} CPUs, shared)"
    ]
    with tempfile.TemporaryDirectory(prefix="kmenv-bench-kaggle-") as tmp, KaggleEmulator() as emu:
        root = Path(tmp)
        populate(emu)
        emu.add_instance("acme", "bigmodel", "pyTorch", "base", {1: {"model.bin": os.urandom(args.mib << 20)}})
        for handle, what in ((BIG, f"one {args.mib} MiB file"), (SHARDS, "30 files (the archive path)")):
            best = {"kagglehub": float("inf"), "kmenv": float("inf")}
            requests = {}
            for n in range(args.rounds):
                for name, client in (("kagglehub", kagglehub_run), ("kmenv", kmenv_run)):
                    before = len(emu.seen)
                    best[name] = min(best[name], client(emu, root, handle))
                    requests[name] = len(emu.seen) - before
                print(
                    f"  {what}, round {n + 1}: kagglehub {best['kagglehub']:.2f} s, kmenv {best['kmenv']:.2f} s",
                    flush=True,
                )
            ratio = best["kmenv"] / best["kagglehub"]
            lines.append(f"{what} ({handle}):")
            lines.append(f"  kagglehub {best['kagglehub']:.2f} s, {requests['kagglehub']} requests")
            lines.append(f"  kmenv     {best['kmenv']:.2f} s, {requests['kmenv']} requests")
            lines.append(
                f"  {'wall time, kmenv / kagglehub':<34} {ratio:6.2f}x   target <= 1.00x   {verdict(ratio <= 1.0)}"
            )
            fewer = requests["kmenv"] <= requests["kagglehub"]
            counts = f"{requests['kmenv']} vs {requests['kagglehub']}"
            lines.append(f"  {'requests, kmenv vs kagglehub':<34} {counts:>7}   target <=          {verdict(fewer)}")
    print()
    print("\n".join(lines))
    return 0


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
