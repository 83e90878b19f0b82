"""What a registry tells a user about its models before they depend on one: the discovery values.

Every registry answers ``search``, ``show`` and ``versions`` in these terms (see the discovery
methods of :class:`kmenv.registry.base.Registry`), so the commands render one shape whatever the
source: Kaggle, a static folder or URL, an OCI registry. Fields a source does not publish stay
empty; ``metrics_note`` says why a source has no metrics at all, so the user is told rather than
left to guess. Pure values with ``as_dict`` for ``--json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kmenv.values.handles import Handle

__all__ = ["InstanceSummary", "ListedFile", "Metric", "ModelPage", "ModelQuery", "ModelSummary", "VersionSummary"]


@dataclass(frozen=True)
class Metric:
    """One published measurement of a version: ``value`` of ``metric`` on ``dataset``, and where it comes from.

    ``source`` is a URL or a short note (a paper, an evaluation run); None when the publisher gave none.
    """

    dataset: str
    metric: str
    value: float
    source: str | None = None

    @property
    def column(self) -> str:
        """The column heading ``versions`` and ``compare`` give this measurement: ``metric@dataset``."""
        return f"{self.metric}@{self.dataset}"

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "metric": self.metric, "value": self.value, "source": self.source}


@dataclass(frozen=True)
class InstanceSummary:
    """One instance (framework/variation) of a model as its registry describes it, at its latest version.

    ``fine_tunable`` is None when the registry does not say; ``base`` is the base model's handle (or a
    URL outside the registry) for a fine-tune; ``size`` the latest version's bytes (0: unknown);
    ``usage`` an example with any template left unfilled;
    ``metrics_text`` what the publisher wrote about metrics in prose; ``url`` the instance's web page
    (a version's page is ``url/<version>``), empty when the registry has none; ``version_notes`` the
    latest version's notes; ``gated`` whether its licence must be accepted before a download (None:
    not said) and ``consent`` the caller's own agreement (``accepted``, ``pending``, ``rejected``,
    ``expired``, ``unspecified`` = never accepted; empty when unknown, e.g. without credentials).
    """

    handle: Handle
    latest: int
    license: str | None
    fine_tunable: bool | None = None
    base: str | None = None
    size: int = 0
    downloads: float | None = None
    overview: str = ""
    usage: str = ""
    training_data: tuple[str, ...] = ()
    requires: Mapping[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    metrics_text: str = ""
    url: str = ""
    version_notes: str = ""
    gated: bool | None = None
    consent: str = ""


@dataclass(frozen=True)
class ModelSummary:
    """One model (``owner/model``) with its instances, as found by a search or read for ``show``.

    ``registry`` is the name the run gives the registry; ``description`` the model card (Markdown);
    ``metrics_note`` is set when the registry publishes no structured metrics at all (Kaggle).
    """

    registry: str
    owner: str
    slug: str
    title: str
    subtitle: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    votes: int | None = None
    published: str = ""
    updated: str = ""
    url: str = ""
    instances: tuple[InstanceSummary, ...] = ()
    metrics_note: str = ""

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"


@dataclass(frozen=True)
class VersionSummary:
    """One version of an instance: its files' count and size, licence, requirements, training data, metrics.

    ``license_observed`` is False when the registry publishes only the current licence and it stands in
    for this older version's (Kaggle). ``files``/``size`` are None when listing them was not possible.
    """

    version: int
    latest: bool
    files: int | None
    size: int | None
    license: str | None
    license_observed: bool = True
    published: str = ""
    requires: Mapping[str, str] = field(default_factory=dict)
    training_data: tuple[str, ...] = ()
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True)
class ListedFile:
    """A file of a version as its registry lists it: path, size and the digests known for it (may be none)."""

    path: str
    size: int
    digests: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelQuery:
    """What ``kmenv search`` asks a registry: free text and owner (matched by the registry), order, page size.

    ``sort`` is one of ``hotness``, ``downloads``, ``votes``, ``notebooks``, ``created``, ``published``,
    ``updated``; a registry without popularity figures orders those it cannot by handle.
    """

    text: str = ""
    owner: str = ""
    sort: str = "hotness"
    page_size: int = 50


@dataclass(frozen=True)
class ModelPage:
    """One page of a search: its models in the registry's order, and the total the registry reports (if any)."""

    models: tuple[ModelSummary, ...]
    total: int | None = None
