"""Benchmark: ``resolve()`` for a large project against a large in-memory registry.

Target: resolving 200 declared models against 1,000 model instances x 20 versions takes < 2 s.

    python bench/bench_lock.py [--runs 5] [--instances 1000] [--versions 20] [--declared 200] [--seed 7]

The registry is generated in memory with the conflicts real registries have: base models with
fine-tunes and fine-tunes of fine-tunes, licences that change in later versions, newer versions
that need a newer library or Python than the environment has, and fine-tunes whose version
ranges on a shared base disagree, so newest versions do not fit together and the resolver has to
find older ones (a plain resolvelib search backtracks exponentially here; see
kmenv/resolve/_lookahead.py). Building the registry is timed in the same run as a baseline; every
resolve starts from a fresh registry object and resolver (no memo carried over), and the median
is reported, with how many pins and rejected versions the search needed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from kmenv.policy import RulePolicy
from kmenv.registry.memory import MemoryRegistry
from kmenv.resolve import Requirement, Resolution, ResolveReporter, resolve
from kmenv.values.candidates import BaseModelRef, Candidate
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

TARGET_SECONDS = 2.0
REGISTRY = "kaggle"
FRAMEWORKS = ("transformers", "pyTorch", "jax", "keras", "gguf")
APACHE = "Apache 2.0"
NON_COMMERCIAL = "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)"
ENVIRONMENT = TargetEnvironment.from_strings(
    "3.11", {"transformers": "4.44.2", "torch": "2.3.0", "jax": "0.4.30", "keras": "3.3.0"}
)
POLICY = RulePolicy(allow=("Apache-2.0", "MIT"), unknown="warn")


@dataclass(frozen=True)
class Workload:
    """A generated registry and the project that resolves against it."""

    candidates: list[Candidate]
    requirements: list[Requirement]


def _base_candidates(rng: random.Random, handle: Handle, versions: int) -> list[Candidate]:
    """A foundation model: later versions may switch to a non-commercial licence or need newer libraries."""
    relicensed_from = rng.choice([None, None, None, versions - 3, versions - 6])
    needs_newer_from = rng.choice([None, None, versions - 2, versions - 4])
    out = []
    for v in range(1, versions + 1):
        requires: dict[str, str] = {}
        if needs_newer_from is not None and v >= needs_newer_from:
            requires["transformers" if handle.framework == "transformers" else "python"] = (
                ">=4.50" if handle.framework == "transformers" else ">=3.12"
            )
        licence = NON_COMMERCIAL if relicensed_from is not None and v >= relicensed_from else APACHE
        out.append(Candidate(handle.with_version(v), REGISTRY, licence, requires))
    return out


def _fine_tune_candidates(rng: random.Random, handle: Handle, base: Handle, versions: int) -> list[Candidate]:
    """A fine-tune: version v needs a base near v; some cap the base from above, which forces backtracking."""
    lag = rng.randint(0, 6)
    capped = rng.random() < 0.3
    out = []
    for v in range(1, versions + 1):
        low = max(1, v - lag)
        spec = f">={low},<{low + 3}" if capped else f">={low}"
        out.append(Candidate(handle.with_version(v), REGISTRY, APACHE, {}, BaseModelRef(base, spec)))
    return out


def generate(instances: int, versions: int, declared: int, seed: int) -> Workload:
    """Deterministic workload: 30 % base models, 50 % fine-tunes of them, 20 % fine-tunes of fine-tunes."""
    rng = random.Random(seed)
    n_base, n_ft = instances * 3 // 10, instances // 2
    n_ft2 = instances - n_base - n_ft

    def handle(kind: str, i: int) -> Handle:
        return Handle(f"org{i % 37}", f"{kind}{i}", FRAMEWORKS[i % len(FRAMEWORKS)], f"v{i % 4}")

    bases = [handle("base", i) for i in range(n_base)]
    fts = [handle("tune", i) for i in range(n_ft)]
    ft2s = [handle("tune2-", i) for i in range(n_ft2)]
    candidates: list[Candidate] = []
    for h in bases:
        candidates += _base_candidates(rng, h, versions)
    # fine-tunes cluster on a few popular bases, so ranges on a shared base meet and conflict
    popular = bases[: max(1, n_base // 10)]
    ft_base = {h: rng.choice(popular if rng.random() < 0.6 else bases) for h in fts}
    for h in fts:
        candidates += _fine_tune_candidates(rng, h, ft_base[h], versions)
    for h in ft2s:
        candidates += _fine_tune_candidates(rng, h, rng.choice(fts), versions)

    chosen_fts = rng.sample(fts, declared * 6 // 10)
    chosen_ft2s = rng.sample(ft2s, declared * 25 // 100)
    declared_bases = rng.sample(sorted({ft_base[h] for h in chosen_fts}), declared - len(chosen_fts) - len(chosen_ft2s))
    requirements = [Requirement(h.model, h, "", REGISTRY) for h in chosen_fts + chosen_ft2s]
    requirements += [
        Requirement(h.model, h, f"<{rng.randint(versions // 2, versions)}", REGISTRY) for h in declared_bases
    ]
    return Workload(candidates, requirements)


class Tally(ResolveReporter):
    """Counts pins and rejections, to show how much searching a resolve took."""

    def __init__(self) -> None:
        self.pins = self.rejections = 0

    def pinned(self, name: str, version: int) -> None:
        self.pins += 1

    def rejected(self, name: str, version: int) -> None:
        self.rejections += 1


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], object]:
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return samples, result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--declared", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    gen_samples, _ = timed(lambda: generate(args.instances, args.versions, args.declared, args.seed), args.runs)
    work = generate(args.instances, args.versions, args.declared, args.seed)
    registries = [MemoryRegistry(REGISTRY, work.candidates) for _ in range(args.runs)]  # fresh per run: no memo
    search = Tally()

    def run() -> Resolution:
        return resolve(work.requirements, {REGISTRY: registries.pop()}, ENVIRONMENT, POLICY, reporter=search)

    last = registries[0]
    samples, resolution = timed(run, args.runs)
    assert isinstance(resolution, Resolution)
    fetched = len(last.fetched())
    older = sum(1 for m in resolution.models if m.candidate.version < args.versions)
    gen_med, res_med = statistics.median(gen_samples), statistics.median(samples)
    print(f"registry: {args.instances} instances x {args.versions} versions = {len(work.candidates)} candidates")
    print(
        f"project:  {len(work.requirements)} declared models -> {len(resolution.models)} resolved "
        f"({older} not at their newest version), {fetched} instances fetched"
    )
    print(f"search:   {search.pins // args.runs} pins, {search.rejections // args.runs} versions rejected per resolve")
    print(f"generate registry (median of {args.runs}): {gen_med * 1000:8.1f} ms")
    print(f"resolve           (median of {args.runs}): {res_med * 1000:8.1f} ms   (min {min(samples) * 1000:.1f} ms)")
    ratio = res_med / TARGET_SECONDS
    print(f"resolve / target ({TARGET_SECONDS:.0f} s): {ratio:8.2f}   ({'met' if ratio < 1 else 'MISSED'})")
    print(f"resolve / generate: {res_med / gen_med:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
