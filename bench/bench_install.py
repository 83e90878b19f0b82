"""Benchmark: the no-op ``kmenv install`` against ``python -c pass``, measured in the same run.

Target: a no-op install takes at most 3x the time of starting Python and doing nothing.

    python bench/bench_install.py [--runs 20]

It copies the bundled example to a temp folder, installs it once (offline, from the static
registry), then times repeated no-op installs and bare interpreter starts, and prints medians
and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "examples" / "registry", root / "registry")
        shutil.copytree(REPO / "examples" / "quickstart", root / "quickstart", ignore=shutil.ignore_patterns(".kmenv"))
        env = {**os.environ, "KMENV_CACHE_DIR": str(root / "cache"), "KMENV_DATA_DIR": str(root / "data")}
        # As after `pip install`: modules load from compiled bytecode, not from source every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "kmenv")], check=True, env=env)
        kmenv = [sys.executable, "-m", "kmenv", "-C", str(root / "quickstart"), "install"]
        first = timed(kmenv, env, 1)[0]
        timed(kmenv, env, 2)  # warm the OS caches
        noop = timed(kmenv, env, args.runs)
        bare = timed([sys.executable, "-c", "pass"], env, args.runs)
    noop_med, bare_med = statistics.median(noop), statistics.median(bare)
    ratio = noop_med / bare_med
    print(f"first install (cold store):   {first * 1000:8.1f} ms")
    print(f"python -c pass (median of {args.runs}): {bare_med * 1000:8.1f} ms")
    print(f"no-op install  (median of {args.runs}): {noop_med * 1000:8.1f} ms")
    print(f"ratio no-op / python:         {ratio:8.2f}x   (target <= 3.00x: {'met' if ratio <= 3 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
