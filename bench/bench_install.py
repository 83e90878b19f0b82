"""Benchmark: the no-op ``kmenv install``, ``kmenv --version`` and the warm install against ``python -c pass``.

Targets: the no-op and ``--version`` each take at most 2x the time of starting the real Python interpreter and
doing nothing; a cached ``--big-gib`` model installed into a new project with ``install --frozen`` at most 10x
(beside ``cp -al`` of the model's folder, and the full path, which the warm one replaces, for reference).

    python bench/bench_install.py [--runs 30] [--big-gib 2]

The cached model comes from a static registry (kmenv's own builder) in the bench folder: one project installs it
(filling the store), a second installs its lock with ``--frozen`` (the full path, which parses the lock once), and
then every round installs it into a new project folder. Folders stay until the end: removing one unlinks its files,
which changes the blobs' ctime, and a blob whose seal no longer matches is hashed again (as it must be).

kmenv runs the way users run it: the ``kmenv`` console script of a virtual environment where kmenv is
installed from a wheel (built here from this checkout; the dependencies come from the running environment
through a ``.pth`` path line, which imports nothing). An editable install adds an import hook that every
interpreter start in that environment pays for, so the running environment's own script is timed beside it,
for reference. The baseline is the real interpreter binary (``os.path.realpath(sys.executable)``), never a
shim or a venv launcher. Every command runs once per round, in turn, and the figures are medians over the
rounds, so drift in the machine's load affects all of them alike.

It exits non-zero only when something crashes, never because a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 2.0
CACHED_TARGET = 10.0
BIG = "bench/big/pyTorch/default"
Command = list[str] | Callable[[int], list[str]]


def once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def interleaved(commands: dict[str, Command], env: dict[str, str], runs: int) -> dict[str, float]:
    """The median wall time of each command, the commands taking turns (one of each per round).

    A command may be a function of the round (-1: the warm-up), for one that needs a new folder every time.
    """
    samples: dict[str, list[float]] = {name: [] for name in commands}

    def of(name: str, round_: int) -> list[str]:
        cmd = commands[name]
        return cmd(round_) if callable(cmd) else cmd

    for name in commands:  # warm the OS caches and write any bytecode
        once(of(name, -1), env)
    for round_ in range(runs):
        names = list(commands)
        names = names[round_ % len(names) :] + names[: round_ % len(names)]  # rotate who goes first
        for name in names:
            samples[name].append(once(of(name, round_), env))
    return {name: statistics.median(times) for name, times in samples.items()}


def big_registry(root: Path, size: int) -> Path:
    """A static registry holding one model of one ``size``-byte file (incompressible bytes)."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_download import write_random

    from kmenv.registry.static.build import build_registry

    source = root / "big-source"
    (source / BIG / "1").mkdir(parents=True)
    (source / BIG / "1" / "version.json").write_text('{"license": "Apache 2.0", "published": "2026-01-01T00:00:00Z"}')
    write_random(source / BIG / "1" / "model.bin", size, 2)
    build_registry(source, root / "big-registry", name="bench")
    shutil.rmtree(source)
    return root / "big-registry"


def big_project(folder: Path, lock: Path | None = None) -> Path:
    """A project declaring the big model; with ``lock``, a copy of it beside (as a checkout brings it)."""
    folder.mkdir(parents=True)
    registry = folder.parent / "big-registry"
    (folder / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  bench:\n    url: {registry}\nmodels:\n  m: {BIG}\n"
    )
    if lock is not None:
        shutil.copy2(lock, folder / "kmodels.lock")
    return folder


def user_install(root: Path, real_python: str, env: dict[str, str]) -> Path | None:
    """A venv with kmenv installed from a wheel of this checkout; its bin folder, or None when it cannot be built."""
    venv = root / "venv"
    try:
        subprocess.run([real_python, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
        wheels = root / "wheels"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        python = venv / "bin" / "python"
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
            + [str(w) for w in wheels.glob("*.whl")],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"note: could not build a wheel install ({exc}); timing this environment's script only")
        return None
    # The dependencies (pydantic, requests, ...) from the environment running this script: a path line only.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "kmenv-bench-deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    return venv / "bin"


def report(label: str, figure: float, baselines: list[float], target: float | None) -> str:
    """One figure, its ratio to each baseline and, for a target, whether each ratio meets it."""
    ratios = [figure / b for b in baselines]
    text = f"  {label:<52} {figure * 1000:7.1f} ms " + " ".join(f"{r:6.2f}x" for r in ratios)
    if target is not None:
        text += f"   target <= {target:.2f}x: " + " / ".join("met" if r <= target else "MISSED" for r in ratios)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--big-gib", type=float, default=2.0, help="size of the cached model (0: skip that figure)")
    args = parser.parse_args()
    real_python = os.path.realpath(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "examples" / "registry", root / "registry")
        shutil.copytree(REPO / "examples" / "quickstart", root / "quickstart", ignore=shutil.ignore_patterns(".kmenv"))
        project = str(root / "quickstart")
        env = {**os.environ, "KMENV_CACHE_DIR": str(root / "cache"), "KMENV_DATA_DIR": str(root / "data")}
        # As after `pip install`: modules load from compiled bytecode, not from source every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "kmenv")], check=True, env=env)
        bin_dir = user_install(root, real_python, env)
        here_script = str(Path(sys.executable).parent / "kmenv")
        script = str(bin_dir / "kmenv") if bin_dir else here_script
        venv_python = str(bin_dir / "python") if bin_dir else sys.executable

        start = time.perf_counter()
        subprocess.run([script, "-C", project, "install"], check=True, env=env, stdout=subprocess.DEVNULL)
        first = time.perf_counter() - start

        cached: dict[str, Command] = {}
        big = int(args.big_gib * (1 << 30))
        if big:
            print(f"writing a {args.big_gib:g} GiB model into a static registry and the store…", flush=True)
            big_registry(root, big)
            filled = big_project(root / "big-first")
            subprocess.run([script, "-q", "-C", str(filled), "install"], check=True, env=env)
            big_lock = filled / "kmodels.lock"
            proving = big_project(root / "big-proving", big_lock)  # the full path parses the lock once
            subprocess.run([script, "-q", "-C", str(proving), "install", "--frozen"], check=True, env=env)
            # cp -al of a copy: linking the installed files themselves would change the blobs' ctime (see above)
            model = root / "big-copy"
            shutil.copytree(filled / ".kmenv" / "models" / "m", model, copy_function=shutil.copy2)
            full = "import sys; from kmenv.cli.app import run; raise SystemExit(run(sys.argv[1:]))"
            cached = {
                "warm": lambda n: [
                    script,
                    "-q",
                    "-C",
                    str(big_project(root / f"big-warm-{n}", big_lock)),
                    "install",
                    "--frozen",
                ],
                "full": lambda n: [
                    venv_python,
                    "-c",
                    full,
                    "-q",
                    "-C",
                    str(big_project(root / f"big-full-{n}", big_lock)),
                    "install",
                    "--frozen",
                ],
                "cp -al": lambda n: ["cp", "-al", str(model), str(root / f"big-cp-{n}")],
            }

        commands: dict[str, Command] = {
            **cached,
            "baseline": [real_python, "-c", "pass"],
            "baseline -S": [real_python, "-S", "-c", "pass"],
            "venv python": [venv_python, "-c", "pass"],
            "script imports": [venv_python, "-c", "import sys; from kmenv.cli import main"],
            "no-op": [script, "-C", project, "install"],
            "version": [script, "--version"],
        }
        if bin_dir and os.path.exists(here_script):
            commands["no-op, this environment"] = [here_script, "-C", project, "install"]
        medians = interleaved(commands, env, args.runs)

    base, floor, venv = medians["baseline"], medians["baseline -S"], medians["venv python"]
    print(f"first install (cold store): {first * 1000:.1f} ms")
    print(f"medians of {args.runs} interleaved rounds")
    print(f"xbase: against {real_python} -c pass")
    print("xvenv: against the venv's python -c pass (the same binary with the venv's site-packages, as the script)")
    print(f"  {'':<52} {'':>10} {'xbase':>7} {'xvenv':>7}")
    baselines = [base, venv]
    print(report("baseline: real interpreter -c pass", base, baselines, None))
    print(report("the venv's python -c pass", venv, baselines, None))
    print(report("real interpreter -S -c pass (no site at all)", floor, baselines, None))
    print(report("console script's own import (kmenv.cli)", medians["script imports"], baselines, None))
    print(report("kmenv install (no-op)", medians["no-op"], baselines, TARGET))
    print(report("kmenv --version", medians["version"], baselines, TARGET))
    if big:
        print(f"cached {args.big_gib:g} GiB model into a new project (install --frozen, every blob in the store):")
        print(report("kmenv install --frozen (warm path)", medians["warm"], baselines, CACHED_TARGET))
        print(report("the same through the full path (app.run), for reference", medians["full"], baselines, None))
        print(report("cp -al of the model's folder", medians["cp -al"], baselines, None))
    if "no-op, this environment" in medians:
        print(
            report(
                "kmenv install (no-op), this environment's script", medians["no-op, this environment"], baselines, None
            )
        )
        print(f"  (that is {here_script}; an editable install's import hook runs at every start there)")
    if base > 1.5 * floor:
        print(
            f"note: the real interpreter's own site-packages hooks (.pth files) take {(base - floor) * 1000:.1f} ms"
            " of the baseline, which a venv does not load; judge by the xvenv column"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
