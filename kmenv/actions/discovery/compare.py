"""``kmenv compare HANDLE…``: model versions side by side, one column per published metric.

A full handle with a version compares that version; without one, the newest; ``owner/model`` brings
every instance at its newest version. Each handle is asked of the registries in order, like ``show``.
``--metric M`` keeps the columns whose metric (or ``metric@dataset``) is ``M``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from kmenv.actions.discovery.sources import first_that_has
from kmenv.actions.discovery.versions import metric_columns
from kmenv.errors import UsageError
from kmenv.values.discovery import Metric
from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from kmenv.registry.base import Registry

__all__ = ["ComparedVersion", "Comparison", "compare_models"]


@dataclass(frozen=True)
class ComparedVersion:
    """One version in the comparison: where it comes from, its licence and size, and its metrics."""

    handle: Handle
    registry: str
    license: str | None
    size: int | None
    metrics: tuple[Metric, ...]
    metrics_note: str = ""

    def value(self, column: str) -> Metric | None:
        return next((m for m in self.metrics if m.column == column), None)


@dataclass(frozen=True)
class Comparison:
    """The versions compared, in the order asked, and the metric columns shown."""

    versions: tuple[ComparedVersion, ...]
    columns: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "versions": [
                {
                    "handle": str(v.handle),
                    "registry": v.registry,
                    "license": v.license,
                    "size": v.size,
                    "metrics": {c: (m.value if (m := v.value(c)) else None) for c in self.columns},
                    "sources": {c: (m.source if (m := v.value(c)) else None) for c in self.columns},
                    "metrics_note": v.metrics_note or None,
                }
                for v in self.versions
            ],
            "notes": list(self.notes),
        }


def _versions_of(registry: Registry, handle: Handle) -> list[ComparedVersion]:
    note = registry.metrics_note()
    if handle.is_partial:
        model = registry.describe_model(handle.owner, handle.model)
        return [
            ComparedVersion(i.handle.with_version(i.latest), registry.name, i.license, i.size, i.metrics, note)
            for i in model.instances
        ]
    row = registry.describe_version(handle)
    versioned = handle.with_version(row.version)
    return [ComparedVersion(versioned, registry.name, row.license, row.size, row.metrics, note)]


def _wanted(column: str, metric: str) -> bool:
    name = metric.strip().lower()
    return column.lower() == name or column.split("@", 1)[0].lower() == name


def compare_models(registries: Sequence[Registry], handles: Sequence[str], *, metric: str | None = None) -> Comparison:
    """The versions ``handles`` name, with one column per metric any of them publishes (or only ``metric``)."""
    if not handles:
        raise UsageError("no handle given", hint="e.g. kmenv compare owner/model/framework/variation/1 …/2")
    found: list[ComparedVersion] = []
    for text in handles:
        found.extend(first_that_has(registries, partial(_versions_of, handle=Handle.parse(text)))[1])
    columns = metric_columns([v.metrics for v in found])
    notes = list(dict.fromkeys(v.metrics_note for v in found if v.metrics_note))
    if metric:
        kept = [c for c in columns if _wanted(c, metric)]
        if not kept:
            shown = ", ".join(columns) if columns else "none"
            notes.append(f"no version compared publishes the metric {metric!r} (metrics published: {shown})")
        columns = kept
    return Comparison(tuple(found), tuple(columns), tuple(notes))
