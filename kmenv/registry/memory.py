"""A registry held in memory, for tests and benchmarks; it counts every call so laziness can be asserted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from kmenv.errors import ModelNotFoundError
from kmenv.fetch.source import FileSource
from kmenv.registry.base import Registry
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle

__all__ = ["MemoryRegistry"]


class MemoryRegistry(Registry):
    """Implements :class:`kmenv.registry.Registry` over a fixed set of candidates.

    ``calls`` counts requests as ``(method, argument)``: ``("instances", "owner/model")``,
    ``("versions", "owner/model/framework/variation")``, ``("files", "<versioned handle>")``.
    """

    def __init__(self, name: str, candidates: Iterable[Candidate]) -> None:
        self.name = name
        self.calls: Counter[tuple[str, str]] = Counter()
        by_instance: dict[Handle, dict[int, Candidate]] = {}
        for candidate in candidates:
            if candidate.registry != name:
                raise ValueError(f"candidate {candidate} belongs to registry {candidate.registry!r}, not {name!r}")
            listed = by_instance.setdefault(candidate.handle.unversioned(), {})
            if candidate.version in listed:
                raise ValueError(f"candidate {candidate} is given twice")
            listed[candidate.version] = candidate
        self._versions: dict[Handle, list[Candidate]] = {
            h: [listed[v] for v in sorted(listed, reverse=True)] for h, listed in by_instance.items()
        }

    def instances(self, owner: str, model: str) -> Sequence[Handle]:
        self.calls["instances", f"{owner}/{model}"] += 1
        found = sorted(h for h in self._versions if h.owner == owner and h.model == model)
        if not found:
            raise ModelNotFoundError(f"registry {self.name!r} has no model {owner}/{model}")
        return found

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        self.calls["versions", str(instance)] += 1
        return tuple(self._listed(instance))

    def files(self, candidate: Candidate) -> Sequence[FileEntry]:
        self.calls["files", str(candidate.handle)] += 1
        for known in self._listed(candidate.handle):
            if known.version == candidate.version:
                return tuple(sorted(known.files, key=lambda f: f.path))
        raise ModelNotFoundError(f"registry {self.name!r} has no version {candidate.handle}")

    def source(self, candidate: Candidate, file: FileEntry) -> FileSource:
        return FileSource(f"memory://{self.name}/{candidate.handle}/{file.path}")

    def fetched(self) -> set[str]:
        """Instances whose versions were asked for, as handle strings."""
        return {argument for (method, argument) in self.calls if method == "versions"}

    def _listed(self, handle: Handle) -> list[Candidate]:
        found = self._versions.get(handle.unversioned())
        if found is None:
            raise ModelNotFoundError(f"registry {self.name!r} has no model instance {handle.unversioned()}")
        return found
