"""Benchmark: kmenv downloads against curl, side by side, from a real nginx on 127.0.0.1.

    python bench/bench_download.py [--big-gib 2] [--files 200] [--rounds 2]

Installs nginx with apt-get when it is missing, writes the files and a static registry into a
temp folder, serves it with nginx (config in the temp folder), and measures in one run:

- one big file (2 GiB), cold: kmenv install throughput vs ``curl -o`` (target >= 0.8x, verification included);
- 200 files of 1-20 MiB: kmenv install vs a sequential curl loop (target >= 1.5x);
- resume after SIGKILL at 50 %: bytes nginx sends on the second run (target <= 55 % of the file);
- the cached big model into a new environment: kmenv install vs ``cp -r`` (target < 1 s and >= 20x);
- peak RSS of the kmenv process during the big download (target < 150 MB);
- no-op install vs ``python -c pass`` (bench/bench_install.py, target <= 3x).

Everything it wrote (several GiB) is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20
GiB = 1 << 30
BIG = "bench/big/pyTorch/default"
MANY = "bench/many/pyTorch/default"


def ensure_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    print("installing nginx (apt-get update; apt-get install -y nginx)…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True, env=env)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def write_random(path: Path, size: int, seed: int) -> None:
    """Incompressible bytes, fast: a random 16 MiB block, varied per block by a counter."""
    rng = random.Random(seed)
    block = bytearray(rng.randbytes(min(size, 16 * MiB)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        written, n = 0, 0
        while written < size:
            block[:8] = n.to_bytes(8, "little")
            piece = memoryview(block)[: min(len(block), size - written)]
            out.write(piece)
            written += len(piece)
            n += 1


def make_registry(root: Path, big: int, files: int) -> tuple[Path, list[tuple[str, int]]]:
    """The static registry (via kmenv's builder); returns it and the (url path, size) of every small file."""
    from kmenv.registry.static.build import build_registry

    source = root / "source"
    meta = '{"license": "Apache 2.0", "published": "2026-01-01T00:00:00Z"}'
    for handle in (BIG, MANY):
        (source / handle / "1").mkdir(parents=True)
        (source / handle / "1" / "version.json").write_text(meta)
    write_random(source / BIG / "1" / "model.bin", big, 1)
    sizes = random.Random(7).choices(range(1 * MiB, 20 * MiB + 1), k=files)
    for i, size in enumerate(sizes):
        write_random(source / MANY / "1" / f"shard-{i:03d}.bin", size, 100 + i)
    registry = root / "registry"
    build_registry(source, registry, name="bench")
    shutil.rmtree(source)
    blobs = sorted(
        (f"/{p.relative_to(registry).as_posix()}", p.stat().st_size)
        for p in (registry / "files").rglob("*")
        if p.is_file()
    )
    return registry, blobs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_nginx(nginx: str, root: Path, registry: Path, port: int) -> subprocess.Popen[bytes]:
    conf = root / "nginx.conf"
    temp = root / "nginx-tmp"
    temp.mkdir()
    conf.write_text(
        f"""
user root;
worker_processes 2;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    log_format bench '$request_uri $status $body_bytes_sent';
    access_log {root}/access.log bench;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {temp};
    proxy_temp_path {temp};
    fastcgi_temp_path {temp};
    uwsgi_temp_path {temp};
    scgi_temp_path {temp};
    server {{
        listen 127.0.0.1:{port};
        root {registry};
    }}
}}
"""
    )
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(root)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"nginx did not start; see {root}/nginx-error.log")


@dataclass
class Run:
    seconds: float
    max_rss: int  # bytes
    code: int


def run(cmd: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run a command, timing it and reading its own peak RSS (wait4, not the whole process tree).

    Dirty pages of earlier runs are flushed first, so no run pays for the previous one's writes.
    """
    os.sync()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    if proc.stderr:
        proc.stderr.close()
    return Run(elapsed, usage.ru_maxrss * 1024, proc.returncode)


def project(folder: Path, url: str, handle: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "kmodels.yaml").write_text(f"version: 1\nregistries:\n  bench:\n    url: {url}\nmodels:\n  m: {handle}\n")
    return folder


def kmenv_env(cache: Path, root: Path) -> dict[str, str]:
    return {**os.environ, "KMENV_CACHE_DIR": str(cache), "KMENV_DATA_DIR": str(root / "data"), "KMENV_NO_LEDGER": "1"}


def install(folder: Path, env: dict[str, str]) -> Run:
    return run([sys.executable, "-m", "kmenv", "-q", "-C", str(folder), "install"], env)


def sent_bytes(log: Path, path: str) -> int:
    total = 0
    for line in log.read_text().splitlines():
        uri, _status, sent = line.split()
        if uri == path:
            total += int(sent)
    return total


def link_seconds(root: Path, cache: Path) -> float:
    """The in-process time to build and switch a generation holding the cached big blob."""
    from kmenv.environment.generations import EnvironmentDir

    blob = max((p for p in (cache / "blobs").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    env = EnvironmentDir(root / "link-only" / ".kmenv")
    start = time.perf_counter()
    env.switch(env.build({"m": [("model.bin", blob)]}))
    elapsed = time.perf_counter() - start
    shutil.rmtree(root / "link-only")
    return elapsed


def rate(size: int, seconds: float) -> str:
    return f"{size / MiB / seconds:8.1f} MiB/s"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-gib", type=float, default=2.0)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="best of N for each timed download")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write (default: a temp folder)")
    args = parser.parse_args()
    nginx = ensure_nginx()
    big_size = int(args.big_gib * GiB)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="kmenv-bench-") as tmp:
        root = Path(tmp)
        print(f"writing {args.big_gib:g} GiB + {args.files} files of 1-20 MiB into {root}…", flush=True)
        registry, blobs = make_registry(root, big_size, args.files)
        big_path = next(path for path, size in blobs if size == big_size)
        small = [(path, size) for path, size in blobs if path != big_path and size >= MiB]
        small_total = sum(size for _, size in small)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_nginx(nginx, root, registry, port)
        log = root / "access.log"
        try:
            results = measure(root, url, big_path, big_size, small, small_total, args.rounds, log)
        finally:
            server.send_signal(signal.SIGQUIT)
            server.wait(timeout=20)
    print()
    for line in results:
        print(line)
    print("\nno-op install (bench/bench_install.py):", flush=True)
    subprocess.run([sys.executable, str(REPO / "bench" / "bench_install.py"), "--runs", "15"], check=True)
    return 0


def measure(
    root: Path,
    url: str,
    big_path: str,
    big_size: int,
    small: list[tuple[str, int]],
    small_total: int,
    rounds: int,
    log: Path,
) -> list[str]:
    out: list[str] = []
    # 1. one big file, cold ------------------------------------------------------------------------
    curl_best = kmenv_best = synced_best = float("inf")
    rss = 0
    for n in range(rounds):
        target = root / "curl-big.bin"
        curl_best = min(curl_best, run(["curl", "-sS", "-o", str(target), url + big_path]).seconds)
        target.unlink()
        # With the bytes on disk, not only in the page cache: what a download costs once the disk is the limit.
        synced = run(["sh", "-c", f"curl -sS -o '{target}' '{url + big_path}' && sync '{target}'"])
        synced_best = min(synced_best, synced.seconds)
        target.unlink()
        cache, folder = root / f"cache-big-{n}", project(root / f"big-{n}", url + "/", BIG)
        result = install(folder, kmenv_env(cache, root))
        kmenv_best, rss = min(kmenv_best, result.seconds), max(rss, result.max_rss)
        if n < rounds - 1:
            shutil.rmtree(cache)
            shutil.rmtree(folder)
        print(f"  round {n + 1}: curl {curl_best:.2f} s, kmenv {result.seconds:.2f} s", flush=True)
    ratio = curl_best / kmenv_best
    gib = f"{big_size / GiB:g} GiB"
    out.append(f"big file {gib}, cold: curl -o {rate(big_size, curl_best)}, kmenv install {rate(big_size, kmenv_best)}")
    out.append(f"  kmenv / curl throughput: {ratio:.2f}x (target >= 0.80x: {verdict(ratio >= 0.8)})")
    out.append(f"  curl -o && sync: {rate(big_size, synced_best)} (kmenv {synced_best / kmenv_best:.2f}x of it)")
    out.append(f"  peak RSS of kmenv: {rss / MiB:.0f} MiB (target < 150 MB: {verdict(rss < 150e6)})")

    # 2. the cached big model into a new environment ---------------------------------------------------
    warm_cache = root / f"cache-big-{rounds - 1}"
    fresh = project(root / "big-again", url + "/", BIG)
    cached = install(fresh, kmenv_env(warm_cache, root))
    source_folder = root / f"big-{rounds - 1}" / ".kmenv" / "models" / "m"
    copy_target = root / "cp-copy"
    copied = run(["cp", "-r", str(source_folder.resolve()), str(copy_target)])
    shutil.rmtree(copy_target)
    speedup = copied.seconds / cached.seconds
    link_only = link_seconds(root, warm_cache)
    out.append(
        f"cached {gib} model into a new environment: kmenv install {cached.seconds:.2f} s, cp -r {copied.seconds:.2f} s"
    )
    out.append(f"  {speedup:.1f}x faster (target < 1 s and >= 20x: {verdict(cached.seconds < 1 and speedup >= 20)})")
    link = f"{link_only * 1000:.1f} ms ({copied.seconds / link_only:.0f}x faster than cp -r)"
    out.append(f"  of which building and switching the generation: {link}")

    # 3. resume after a kill at 50 % -----------------------------------------------------------------
    cache, folder = root / "cache-resume", project(root / "resume", url + "/", BIG)
    env = kmenv_env(cache, root)
    proc = subprocess.Popen([sys.executable, "-m", "kmenv", "-q", "-C", str(folder), "install"], env=env)
    partial = cache / "partial"
    while proc.poll() is None:
        written = sum(p.stat().st_size for p in partial.glob("*.tmp")) if partial.exists() else 0
        if written >= big_size // 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    kept = sum(p.stat().st_size for p in partial.glob("*.tmp")) if partial.exists() else 0
    log.write_text("")  # nginx appends: count only what the second run fetched
    install(folder, env)
    again = sent_bytes(log, big_path)
    share = again / big_size
    out.append(
        f"resume after SIGKILL with {kept / big_size:.0%} on disk: the second run transferred {share:.1%} of the file"
    )
    out.append(f"  (target <= 55 %: {verdict(share <= 0.55)})")
    for stale in (cache, folder, warm_cache, root / f"big-{rounds - 1}", fresh):
        shutil.rmtree(stale, ignore_errors=True)

    # 4. many files -----------------------------------------------------------------------------------
    curl_loop = kmenv_many = float("inf")
    for n in range(rounds):
        folder_out = root / "curl-many"
        folder_out.mkdir()
        start = time.perf_counter()
        for i, (path, _) in enumerate(small):
            subprocess.run(["curl", "-sS", "-o", str(folder_out / f"{i}.bin"), url + path], check=True)
        curl_loop = min(curl_loop, time.perf_counter() - start)
        shutil.rmtree(folder_out)
        cache, folder = root / f"cache-many-{n}", project(root / f"many-{n}", url + "/", MANY)
        kmenv_many = min(kmenv_many, install(folder, kmenv_env(cache, root)).seconds)
        shutil.rmtree(cache)
        shutil.rmtree(folder)
        print(f"  round {n + 1}: curl loop {curl_loop:.2f} s, kmenv {kmenv_many:.2f} s", flush=True)
    ratio = curl_loop / kmenv_many
    many = f"{len(small)} files, {small_total / GiB:.2f} GiB"
    out.append(f"{many}: curl loop {curl_loop:.2f} s ({rate(small_total, curl_loop)})")
    out.append(f"  kmenv install {kmenv_many:.2f} s ({rate(small_total, kmenv_many)})")
    out.append(f"  kmenv {ratio:.2f}x faster (target >= 1.5x: {verdict(ratio >= 1.5)})")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
