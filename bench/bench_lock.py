"""Benchmark: a lock (``resolve()``, then building and rendering ``kmodels.lock``) of a large project.

Targets: locking 1,000 declared models against 10,000 model instances x 20 versions takes < 2 s, and
lock time grows linearly with the number of models (the fitted exponent over n = 100…3,000).

    python bench/bench_lock.py [--runs 3] [--instances 10000] [--versions 20] [--declared 1000] [--seed 7]

The registry is generated in memory with the conflicts real registries have: base models with
fine-tunes and fine-tunes of fine-tunes, licences that change in later versions, newer versions
that need a newer library or Python than the environment has, and fine-tunes whose version
ranges on a shared base disagree, so newest versions do not fit together and the resolver has to
find older ones (a plain resolvelib search backtracks exponentially here; see
kmenv/resolve/_lookahead.py). The baseline, interleaved with kmenv run by run, is parsing the
same registry as one JSON document: no lock can read its input faster. Every resolve starts from a
fresh registry object and resolver (no memo carried over) on a collected heap; the lock document is
built from its answer with three listed files a model, as ``kmenv lock`` does. Medians are reported,
with wall and CPU time (CPU time reads true on a busy machine), and how many pins and rejected
versions the search needed.

Growth: projects of n = 100…3,000 declared models (ten sizes, roughly evenly spaced in log n) against the same
registry, each locked ``--runs`` times in rounds that visit every size, so a change in the machine's load
touches all sizes alike. The exponent is the least-squares slope of log(median CPU time) against log(n),
printed over declared models and over resolved ones (declared plus the bases they pull in, which grow more
slowly than n since projects share bases). The target is judged on resolved models, the stricter of the two.
It prints met or MISSED and exits non-zero only on a crash.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kmenv.lockfile.document import DeclaredInputs, InputModel, InputRegistry, build_lock, dumps_lock, select_files
from kmenv.policy import RulePolicy
from kmenv.registry.memory import MemoryRegistry
from kmenv.resolve import Requirement, Resolution, ResolveReporter, resolve
from kmenv.values.candidates import BaseModelRef, Candidate, FileEntry
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

TARGET_SECONDS = 2.0
#: Linear growth with some slack for cache effects; the quadratic search this replaced fitted ~2.
MAX_EXPONENT = 1.2
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


@dataclass(frozen=True)
class _Pools:
    """The generated models a project samples from: fine-tunes, fine-tunes of fine-tunes, and each fine-tune's base."""

    fts: list[Handle]
    ft2s: list[Handle]
    ft_base: dict[Handle, Handle]


def _registry(rng: random.Random, instances: int, versions: int) -> tuple[list[Candidate], _Pools]:
    """30 % base models, 50 % fine-tunes of them, 20 % fine-tunes of fine-tunes."""
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
    return candidates, _Pools(fts, ft2s, ft_base)


def _project(rng: random.Random, pools: _Pools, versions: int, declared: int) -> list[Requirement]:
    """60 % fine-tunes, 25 % fine-tunes of fine-tunes, the rest bases some chosen fine-tune needs, capped."""
    chosen_fts = rng.sample(pools.fts, declared * 6 // 10)
    chosen_ft2s = rng.sample(pools.ft2s, declared * 25 // 100)
    bases = sorted({pools.ft_base[h] for h in chosen_fts})
    declared_bases = rng.sample(bases, declared - len(chosen_fts) - len(chosen_ft2s))
    requirements = [Requirement(h.model, h, "", REGISTRY) for h in chosen_fts + chosen_ft2s]
    requirements += [
        Requirement(h.model, h, f"<{rng.randint(versions // 2, versions)}", REGISTRY) for h in declared_bases
    ]
    return requirements


def generate(instances: int, versions: int, declared: int, seed: int) -> Workload:
    """Deterministic workload: one generated registry and a project of ``declared`` models sampled from it."""
    rng = random.Random(seed)
    candidates, pools = _registry(rng, instances, versions)
    return Workload(candidates, _project(rng, pools, versions, declared))


def series(instances: int, versions: int, sizes: Sequence[int], seed: int) -> dict[int, Workload]:
    """The workloads :func:`generate` makes for each size, built once: the registry is the same for every size."""
    rng = random.Random(seed)
    candidates, pools = _registry(rng, instances, versions)
    after_registry = rng.getstate()
    projects = {}
    for declared in sizes:
        rng.setstate(after_registry)
        projects[declared] = Workload(candidates, _project(rng, pools, versions, declared))
    return projects


class Tally(ResolveReporter):
    """Counts pins and rejections, to show how much searching a resolve took."""

    def __init__(self) -> None:
        self.pins = self.rejections = 0

    def pinned(self, name: str, version: int) -> None:
        self.pins += 1

    def rejected(self, name: str, version: int) -> None:
        self.rejections += 1


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float], object]:
    """Wall and CPU seconds of each run (CPU too, so a busy machine's figures can be read)."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus, result


def _as_json(work: Workload) -> str:
    """The registry as one JSON document, for the parse-floor baseline: reading the index costs at least this."""
    return json.dumps(
        [
            {
                "handle": str(c.handle),
                "license": c.license,
                "requires": c.requires,
                "base": str(c.base.handle) if c.base else None,
            }
            for c in work.candidates
        ]
    )


def _exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(n): 1 is linear, 2 quadratic."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _resolver(work: Workload, tally: Tally | None = None) -> Callable[[], Resolution]:
    """One resolve over a registry built beforehand (fresh per run: no memo carried over), not timed."""
    registry = MemoryRegistry(REGISTRY, work.candidates)
    return lambda: resolve(work.requirements, {REGISTRY: registry}, ENVIRONMENT, POLICY, reporter=tally)


def _documenter(work: Workload, resolution: Resolution) -> Callable[[], str]:
    """Building and rendering ``kmodels.lock`` from a resolution, as ``kmenv lock`` does after resolving.

    The registry's file listings (three files a model) and the declared inputs are made beforehand, not timed.
    """
    inputs = DeclaredInputs(
        models={
            r.name: InputModel(handle=str(r.handle), versions=r.versions, registry=REGISTRY) for r in work.requirements
        },
        registries={REGISTRY: InputRegistry(type="kaggle")},
        environment=ENVIRONMENT,
        environment_record={},
        policy=POLICY,
    )
    listings = {
        m.name: [
            FileEntry(f"part-{i}.bin", 2**20 + i, hashlib.sha256(f"{m.name}/{i}".encode()).hexdigest())
            for i in range(3)
        ]
        for m in resolution.models
    }

    def document() -> str:
        chosen = [
            (
                m.name,
                m.candidate,
                m.direct,
                m.base,
                m.required_by,
                m.verdict.spdx,
                select_files(m.name, m.candidate, listings[m.name], None),
            )
            for m in resolution.models
        ]
        return dumps_lock(build_lock(inputs, chosen))

    return document


def _lock_once(
    work: Workload, tally: Tally | None = None
) -> tuple[Resolution, tuple[float, float], tuple[float, float]]:
    """One resolve and the lock document built from it: the (wall, CPU) seconds of each phase.

    Each run starts from a collected heap, so no run pays for the garbage of the one before (or of generating).
    """
    gc.collect()
    walls, cpus, found = timed(_resolver(work, tally), 1)
    assert isinstance(found, Resolution)
    doc_walls, doc_cpus, _ = timed(_documenter(work, found), 1)
    return found, (walls[0], cpus[0]), (doc_walls[0], doc_cpus[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--declared", type=int, default=1000)
    parser.add_argument(
        "--series", default="100,150,200,300,500,700,1000,1500,2000,3000", help="declared counts for the growth fit"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    _headline(args)
    _growth(args)
    return 0


def _headline(args: argparse.Namespace) -> None:
    """The 1,000-model figure against the target, interleaved with the JSON-parse floor."""
    work = generate(args.instances, args.versions, args.declared, args.seed)
    document = _as_json(work)
    search = Tally()
    floor_walls: list[float] = []
    phases: dict[str, list[tuple[float, float]]] = {"resolve": [], "document": [], "lock": []}
    resolution: Resolution | None = None
    for _ in range(args.runs):  # interleaved: the baseline and kmenv share the machine's state run by run
        floor_walls += timed(lambda: json.loads(document), 1)[0]
        resolution, resolving, documenting = _lock_once(work, search)
        phases["resolve"].append(resolving)
        phases["document"].append(documenting)
        phases["lock"].append((resolving[0] + documenting[0], resolving[1] + documenting[1]))
    assert resolution is not None
    older = sum(1 for m in resolution.models if m.candidate.version < args.versions)
    floor = statistics.median(floor_walls)
    print(f"registry: {args.instances} instances x {args.versions} versions = {len(work.candidates)} candidates")
    print(
        f"project:  {len(work.requirements)} declared models -> {len(resolution.models)} resolved "
        f"({older} not at their newest version)"
    )
    print(f"search:   {search.pins // args.runs} pins, {search.rejections // args.runs} versions rejected per resolve")
    size = len(document) / 2**20
    print(f"baseline: json.loads of the registry ({size:.0f} MiB), median of {args.runs}: {floor * 1000:8.1f} ms")
    labels = {"resolve": "resolve:      ", "document": "lock document:", "lock": "lock (both):  "}
    for phase, runs in phases.items():
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        print(
            f"{labels[phase]} median of {args.runs}: {wall * 1000:8.1f} ms wall, {cpu * 1000:8.1f} ms CPU"
            f"   (min {min(w for w, _ in runs) * 1000:.1f} ms wall)"
        )
    median = statistics.median(w for w, _ in phases["lock"])
    print(f"lock / json floor: {median / floor:8.2f}x")
    # wall time is the target; CPU time beside it says what a machine busy with other work hides
    for clock, seconds in (("wall", median), ("CPU", statistics.median(c for _, c in phases["lock"]))):
        ratio = seconds / TARGET_SECONDS
        print(f"lock / target ({TARGET_SECONDS:.0f} s), {clock}: {ratio:8.2f}   ({'met' if ratio < 1 else 'MISSED'})")


def _growth(args: argparse.Namespace) -> None:
    """Time against project size, and the fitted exponent against the target."""
    sizes = [int(n) for n in args.series.split(",")]
    projects = series(args.instances, args.versions, sizes, args.seed)
    runs: dict[int, list[tuple[float, float, float]]] = {n: [] for n in sizes}  # (lock wall, lock CPU, resolve CPU)
    resolved: dict[int, int] = {}
    _lock_once(projects[sizes[0]])  # warm-up, not counted: first-call costs (caches, lazy imports) are not growth
    for _ in range(args.runs):  # rounds outside, sizes inside: a drift in the machine's load touches every size alike
        for declared in sizes:
            found, resolving, documenting = _lock_once(projects[declared])
            resolved[declared] = len(found.models)
            runs[declared].append((resolving[0] + documenting[0], resolving[1] + documenting[1], resolving[1]))
    print(f"growth: lock (resolve + document), median of {args.runs} per size, {len(sizes)} sizes")
    cpu = {n: statistics.median(c for _, c, _ in runs[n]) for n in sizes}
    for n in sizes:
        wall = statistics.median(w for w, _, _ in runs[n])
        print(
            f"  n = {n:5d} declared, {resolved[n]:5d} resolved: {wall * 1000:8.1f} ms wall, "
            f"{cpu[n] * 1000:8.1f} ms CPU, {cpu[n] / resolved[n] * 1e6:5.0f} us CPU per resolved model"
        )
    resolve_only = _exponent([(resolved[n], statistics.median(r for _, _, r in runs[n])) for n in sizes])
    by_declared = _exponent([(n, cpu[n]) for n in sizes])
    by_resolved = _exponent([(resolved[n], cpu[n]) for n in sizes])
    verdict = "met" if by_resolved <= MAX_EXPONENT else "MISSED"
    print(f"growth: lock CPU time ~ n^{by_declared:.2f} over declared models")
    print(f"growth: resolve CPU time alone ~ n^{resolve_only:.2f} over resolved models")
    print(f"growth: lock CPU time ~ n^{by_resolved:.2f} over resolved models   target <= {MAX_EXPONENT}: {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
