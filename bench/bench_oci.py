"""Benchmark: kmenv against an OCI registry (Debian's docker-registry on 127.0.0.1) beside skopeo and curl.

    python bench/bench_oci.py [--clients 32] [--install-mib 320] [--mirror-mib 1024] [--rounds 2] [--install-rounds 1]
    python bench/bench_oci.py --quick        # 4 clients, 48 MiB, 128 MiB, one round: a smoke run
    python bench/bench_oci.py --only mirror  # or --only installs

Writes random model files into a temp folder, builds a static registry from them with kmenv's own
builder, installs from it once (so the store holds every blob), and starts docker-registry with its
storage in the same temp folder. Then, each command run as users run it:

- ``kmenv mirror`` of a ``--mirror-mib`` lock (4 models) into a fresh registry, beside ``skopeo copy``
  of the same blobs as ModelPack artifacts in OCI layouts and a curl script (POST, then one PUT per
  blob), interleaved, best of ``--rounds``; target >= 0.7x the faster baseline. Each round starts its
  own registry, so no tool finds another's blobs (or skopeo's blob cache a place to mount them from).
  A second ``kmenv mirror`` into the same registry must upload 0 bytes (read from ``--json``).
- ``--clients`` concurrent ``kmenv install --frozen`` of a ``--install-mib`` lock (6 models) from one
  registry, each in its own project with its own cache, beside as many concurrent ``curl`` processes
  fetching the same blobs (each one curl, blob after blob over one connection), and the same followed
  by ``sha256sum``; interleaved, best of ``--install-rounds`` (default 1: each round moves clients x
  the lock three times). Failures (target 0), whether every environment is byte-identical to the source files
  (every installed file hashed), and the aggregate throughput of each (no target: kmenv verifies and
  fsyncs every blob, curl does neither).

Prints each figure beside its baseline from the same run, the ratio, the target and met/MISSED; exits
non-zero only on a crash, never on a miss. Needs about (clients + 4) x install + 8 x mirror sizes of free
space; everything is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from _oci_parts import (
    Model,
    curl_get_command,
    curl_put_script,
    docker_registry,
    locked_blobs,
    models_of,
    oci_layouts,
    project,
    tree_digests,
    write_source,
)
from bench_download import REPO, MiB, Report, Run, ensure, kmenv_env, rounds_of, run

#: (share of the lock's bytes, files): one big file that is split into ranges, a mid one, and sharded models.
INSTALL_SHARES = ((0.40, 1), (0.20, 1), (0.20, 4), (0.10, 8), (0.06, 16), (0.04, 3))
MIRROR_SHARES = ((0.50, 1), (0.25, 1), (0.125, 8), (0.125, 32))


def kmenv(*args: str) -> list[str]:
    return [sys.executable, "-m", "kmenv", *args]


@dataclass(frozen=True)
class Crowd:
    """Processes started together: the wall time until the last one ended, and who failed how."""

    seconds: float
    failures: list[str]


def crowd(commands: Sequence[tuple[list[str], dict[str, str] | None]]) -> Crowd:
    """Start every command at once and wait for all; a failure is kept (with its last stderr line), not raised."""
    os.sync()
    with ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        start = time.perf_counter()
        procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
            for (cmd, env), log in zip(commands, logs, strict=True)
        ]
        codes = [proc.wait() for proc in procs]
        elapsed = time.perf_counter() - start
        failures = []
        for n, (code, log) in enumerate(zip(codes, logs, strict=True)):
            log.seek(0)
            text = log.read().decode(errors="replace").strip().splitlines()
            if code != 0:
                failures.append(f"client {n}: exit {code}: {text[-1] if text else ''}"[:300])
    return Crowd(elapsed, failures)


def json_of(cmd: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)[:200]} failed ({done.returncode}): {done.stderr[-2000:]}")
    data: dict[str, object] = json.loads(done.stdout)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent installs")
    parser.add_argument("--install-mib", type=int, default=320, help="size of the installed lock (6 models)")
    parser.add_argument("--mirror-mib", type=int, default=1024, help="size of the mirrored lock (4 models)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved mirror rounds; the best of each is kept")
    parser.add_argument("--install-rounds", type=int, default=1, help="rounds of the concurrent installs (slow)")
    parser.add_argument("--only", choices=("mirror", "installs"), help="measure one part only")
    parser.add_argument("--quick", action="store_true", help="4 clients, 48 MiB, 128 MiB, 1 round")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write (default: a temp folder)")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.install_mib, args.mirror_mib, args.rounds, args.install_rounds = 4, 48, 128, 1, 1
    registry_bin = ensure("docker-registry", "docker-registry")
    ensure("skopeo", "skopeo")
    # As after `pip install`: modules load from compiled bytecode, not from source on every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "kmenv")], check=True)
    installs = models_of("i", args.install_mib * MiB, INSTALL_SHARES)
    mirrors = models_of("m", args.mirror_mib * MiB, MIRROR_SHARES)
    report = Report()
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="kmenv-bench-oci-") as tmp:
        root = Path(tmp)
        print(f"writing {args.install_mib} MiB + {args.mirror_mib} MiB of model files into {root}…", flush=True)
        from kmenv.registry.static.build import build_registry

        write_source(root / "source", installs + mirrors, seed=11)
        build_registry(root / "source", root / "static", name="bench")
        expected = {m.name: tree_digests(root / "source" / m.handle / "1") for m in installs}
        for digests in expected.values():
            digests.pop("version.json")  # the builder's input, not a file of the model
        shutil.rmtree(root / "source")
        if args.only != "installs":
            measure_mirror(root, registry_bin, mirrors, args, report)
        if args.only != "mirror":
            measure_installs(root, registry_bin, installs, expected, args, report)
    print()
    print(f"kmenv OCI benchmark ({os.cpu_count()} CPUs; shared machine: figures move between runs)")
    for line in report.lines:
        print(line)
    return 0


def measure_mirror(root: Path, binary: str, models: list[Model], args: argparse.Namespace, report: Report) -> None:
    """``kmenv mirror`` vs ``skopeo copy`` and curl PUTs of the same blobs, each round into a fresh registry."""
    seed = project(root / "mirror-seed", str(root / "static"), models)
    env = kmenv_env(root / "cache-mirror", root)
    run(kmenv("-q", "-C", str(seed), "install"), env)
    blobs = locked_blobs(seed / "kmodels.lock", "x", root / "cache-mirror" / "blobs" / "sha256")
    if not all(b.path.exists() for b in blobs):
        raise SystemExit("the store does not keep blobs where this benchmark expects them")
    size = sum(b.size for b in blobs)
    layouts = oci_layouts(blobs, root / "layouts")
    print(f"mirror of {len(models)} models, {len(blobs)} files, {size / MiB:.0f} MiB", flush=True)
    second: dict[str, object] = {}
    stack = ExitStack()
    current: dict[str, object] = {}

    def fresh(n: int) -> str:
        """The round's own registry: the first step of a round starts it, after stopping the last round's."""
        if current.get("round") != n:
            stack.close()
            current["base"] = stack.enter_context(docker_registry(binary, root / f"registry-mirror-{n}")).base
            current["round"] = n
        return str(current["base"])

    def kmenv_mirror(n: int) -> Run:
        url = f"oci+http://{fresh(n).removeprefix('http://')}/kmenv"
        result = run(kmenv("-C", str(seed), "mirror", "--to", url, "--json"), env)
        if n == 0:
            second.update(json_of(kmenv("-C", str(seed), "mirror", "--to", url, "--json"), env))
        return result

    def skopeo(n: int) -> Run:
        host = fresh(n).removeprefix("http://")
        script = "\n".join(
            f"skopeo copy -q --dest-tls-verify=false oci:{layout}:1 docker://{host}/skopeo/{repo}:1"
            for layout, repo in layouts
        )
        return run(["sh", "-ec", script])

    def curl_puts(n: int) -> Run:
        return run(["sh", "-c", curl_put_script(blobs, fresh(n), "curl")])

    with stack:
        best = rounds_of(
            args.rounds, {"kmenv mirror": kmenv_mirror, "skopeo copy": skopeo, "curl PUT": curl_puts}, report
        )
    report.add(f"kmenv mirror of {len(models)} models ({len(blobs)} files, {size / MiB:.0f} MiB) into docker-registry:")
    report.rates(best, size)
    report.ratio("kmenv / skopeo copy", best["skopeo copy"] / best["kmenv mirror"], 0.7)
    report.ratio("kmenv / curl PUT", best["curl PUT"] / best["kmenv mirror"], 0.7)
    again = int(second.get("bytes_written", -1))  # type: ignore[call-overload]
    blobs_again = second.get("blobs_written")
    verdict = "met" if again == 0 and blobs_again == 0 else "MISSED"
    report.add(f"  second kmenv mirror: {again} bytes, {blobs_again} blobs uploaded   target 0   {verdict}")
    shutil.rmtree(root / "layouts")
    shutil.rmtree(root / "cache-mirror")


def measure_installs(
    root: Path,
    binary: str,
    models: list[Model],
    expected: dict[str, dict[str, str]],
    args: argparse.Namespace,
    report: Report,
) -> None:
    """``--clients`` concurrent ``kmenv install --frozen`` from one registry vs as many concurrent curls."""
    clients = args.clients
    with docker_registry(binary, root / "registry-install") as registry:
        url = f"oci+http://{registry.host}/team"
        seed = project(root / "install-seed", str(root / "static"), models)
        env = kmenv_env(root / "cache-seed", root)
        run(kmenv("-q", "-C", str(seed), "install"), env)
        run(kmenv("-q", "-C", str(seed), "mirror", "--to", url), env)
        reference = project(root / "install-ref", url, models)
        run(kmenv("-q", "-C", str(reference), "lock"), kmenv_env(root / "cache-ref", root))
        blobs = locked_blobs(reference / "kmodels.lock", "team", root / "cache-seed" / "blobs" / "sha256")
        size = sum(b.size for b in blobs)
        print(f"{clients} concurrent installs of {len(models)} models, {len(blobs)} files, {size / MiB:.0f} MiB",
              flush=True)  # fmt: skip
        problems: list[str] = []
        failures: list[str] = []

        def installs(n: int) -> Run:
            commands = []
            for c in range(clients):
                folder = root / "clients" / f"p{c}"
                shutil.rmtree(root / "clients" / f"cache{c}", ignore_errors=True)
                shutil.rmtree(folder, ignore_errors=True)
                project(folder, url, models)
                shutil.copy(reference / "kmodels.lock", folder / "kmodels.lock")
                commands.append((kmenv("-q", "-C", str(folder), "install", "--frozen"),
                                 kmenv_env(root / "clients" / f"cache{c}", root)))  # fmt: skip
            result = crowd(commands)
            failures.extend(f"round {n + 1}, {line}" for line in result.failures)
            if n == 0:
                problems.extend(_compare(root / "clients", clients, models, expected))
            return Run(result.seconds, 0)

        def curls(verify: bool) -> Callable[[int], Run]:
            def step(n: int) -> Run:
                commands: list[tuple[list[str], dict[str, str] | None]] = []
                for c in range(clients):
                    out = root / "curl" / f"c{c}"
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir(parents=True)
                    cmd = curl_get_command(blobs, registry.base, out)
                    if verify:
                        cmd = ["sh", "-c", f"{shlex.join(cmd)} && sha256sum {out}/*.bin >/dev/null"]
                    commands.append((cmd, None))
                result = crowd(commands)
                if result.failures:
                    raise SystemExit("curl failed: " + "; ".join(result.failures[:3]))
                return Run(result.seconds, 0)

            return step

        steps = {
            f"{clients} x curl": curls(False),
            f"{clients} x curl + sha256sum": curls(True),
            f"{clients} x kmenv install": installs,
        }
        best = rounds_of(args.install_rounds, steps, report)
    shutil.rmtree(root / "curl", ignore_errors=True)
    shutil.rmtree(root / "clients", ignore_errors=True)
    total = clients * size
    report.add(
        f"{clients} concurrent installs from one docker-registry, {len(models)} models ({len(blobs)} files, "
        f"{size / MiB:.0f} MiB each, {total / MiB / 1024:.1f} GiB in all), aggregate:"
    )
    report.rates(best, total)
    ratio = best[f"{clients} x curl"] / best[f"{clients} x kmenv install"]
    report.add(f"  {'kmenv / curl':<34} {ratio:6.2f}x   (no target: kmenv verifies and fsyncs, curl does neither)")
    ratio = best[f"{clients} x curl + sha256sum"] / best[f"{clients} x kmenv install"]
    report.add(f"  {'kmenv / curl + sha256sum':<34} {ratio:6.2f}x   (no target: the baseline that verifies)")
    verdict = "met" if not failures else "MISSED"
    report.add(f"  {'failed installs':<34} {len(failures):6d}    target 0          {verdict}")
    for line in failures[:5]:
        report.add(f"    {line}")
    verdict = "met" if not problems else "MISSED"
    checked = f"{clients} environments x {sum(len(m.files) for m in models)} files hashed"
    report.add(f"  {'environments differing':<34} {len(problems):6d}    target 0          {verdict}   ({checked})")
    for line in problems[:5]:
        report.add(f"    {line}")


def _compare(folder: Path, clients: int, models: list[Model], expected: dict[str, dict[str, str]]) -> list[str]:
    """Each client's environment hashed file by file against the source files; one line per one that differs."""
    problems = []
    for c in range(clients):
        for model in models:
            got = tree_digests(folder / f"p{c}" / ".kmenv" / "models" / model.name)
            if got != expected[model.name]:
                problems.append(f"client {c}: {model.name} differs from its source files")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
