"""``kmenv show``: a model's card and instances, or one instance's details at one version, from any registry.

``owner/model`` gives the card (title, description) and every instance; no instance is picked for
the user. A full handle adds that instance's usage, requirements, training data and metrics, at its
newest version or the one named (an older version's own details cost one more read). Each instance
says whether its licence must be accepted before a download and, with credentials, whether the
caller has accepted it (Kaggle reports the caller's own agreement); the links are the web pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kmenv.actions.discovery.handles import fill_usage, framework_rank
from kmenv.actions.discovery.sources import first_that_has
from kmenv.errors import ModelNotFoundError
from kmenv.values.discovery import InstanceSummary, Metric, ModelSummary, VersionSummary
from kmenv.values.handles import Handle
from kmenv.values.times import utc_timestamp

if TYPE_CHECKING:
    from kmenv.registry.base import Registry

__all__ = ["ModelCard", "show_model"]


@dataclass(frozen=True)
class ModelCard:
    """A model's card; with ``chosen`` (a full handle was given), that instance at ``version``.

    ``row`` is the chosen version's own line of the version list, when it is not the newest.
    """

    model: ModelSummary
    chosen: InstanceSummary | None = None
    version: int | None = None
    row: VersionSummary | None = None

    @property
    def metrics(self) -> tuple[Metric, ...]:
        if self.row is not None:
            return self.row.metrics
        return self.chosen.metrics if self.chosen is not None else ()

    @property
    def training_data(self) -> tuple[str, ...]:
        if self.row is not None:
            return self.row.training_data
        return self.chosen.training_data if self.chosen is not None else ()

    @property
    def requires(self) -> dict[str, str]:
        if self.row is not None:
            return dict(self.row.requires)
        return dict(self.chosen.requires) if self.chosen is not None else {}

    @property
    def license(self) -> str | None:
        if self.row is not None:
            return self.row.license
        return self.chosen.license if self.chosen is not None else None

    @property
    def url(self) -> str:
        """The page a user opens (Kaggle's); the chosen version's when there is one."""
        if self.chosen is not None and self.chosen.url and self.version is not None:
            return f"{self.chosen.url}/{self.version}"
        return self.model.url

    @property
    def usage(self) -> str:
        if self.chosen is None or self.version is None or not self.chosen.usage:
            return ""
        return fill_usage(self.chosen.usage, self.chosen.handle.with_version(self.version), self.url)

    @property
    def version_notes(self) -> str | None:
        """The chosen version's notes; Kaggle publishes only the latest version's (None for an older one)."""
        if self.chosen is None or self.version != self.chosen.latest:
            return None
        return self.chosen.version_notes or None

    def links(self) -> dict[str, str]:
        """The web pages of the model, and of the chosen instance and version; empty without web pages."""
        found = {"model": self.model.url} if self.model.url else {}
        if self.chosen is not None and self.chosen.url:
            found["instance"] = self.chosen.url
            if self.version is not None:
                found["version"] = f"{self.chosen.url}/{self.version}"
        return found

    def as_dict(self) -> dict[str, Any]:
        m, c = self.model, self.chosen
        return {
            "handle": m.ref,
            "registry": m.registry,
            "title": m.title,
            "subtitle": m.subtitle,
            "owner": m.owner,
            "tags": list(m.tags),
            "votes": m.votes,
            "published": utc_timestamp(m.published),
            "updated": utc_timestamp(m.updated),
            "url": self.url or None,
            "description": m.description,
            "instances": [instance_row(i) for i in m.instances],
            "chosen": {"handle": str(c.handle.with_version(self.version)), "version": self.version}
            if c is not None and self.version is not None
            else None,
            "license": self.license,
            "requires": self.requires,
            "training_data": list(self.training_data),
            "usage": self.usage,
            "metrics": [x.as_dict() for x in self.metrics],
            "metrics_text": (c.metrics_text or None) if c is not None else None,
            "metrics_note": m.metrics_note or None,
            "overview": c.overview if c is not None else "",
            "links": self.links(),
            "version_notes": self.version_notes,
            "access": access(c) if c is not None else None,
        }


def access(info: InstanceSummary) -> str:
    """Who may download the instance: ``open``, ``gated: accepted``, ``gated: not accepted``, or ``-`` (not said).

    A gated instance seen without credentials is ``gated: sign in to accept`` (Kaggle reports consent
    to the signed-in caller only).
    """
    if info.gated is None:
        return "-"
    if not info.gated:
        return "open"
    return {
        "accepted": "gated: accepted",
        "pending": "gated: pending review",
        "": "gated: sign in to accept",
    }.get(info.consent, "gated: not accepted")


def instance_row(info: InstanceSummary) -> dict[str, Any]:
    """One instance as ``show --json`` lists it."""
    return {
        "handle": str(info.handle),
        "framework": info.handle.framework,
        "variation": info.handle.variation,
        "license": info.license,
        "fine_tunable": info.fine_tunable,
        "base": info.base,
        "size": info.size,
        "latest_version": info.latest,
        "downloads": info.downloads,
        "requires": dict(info.requires),
        "training_data": list(info.training_data),
        "metrics": [x.as_dict() for x in info.metrics],
        "url": info.url or None,
        "version_notes": info.version_notes or None,
        "gated": info.gated,
        "consent": info.consent or None,
        "access": access(info),
    }


def _card(registry: Registry, handle: Handle, text: str) -> ModelCard:
    model = registry.describe_model(handle.owner, handle.model)
    ordered = sorted(model.instances, key=lambda i: (framework_rank(i.handle.framework or ""), str(i.handle)))
    model = ModelSummary(**{**model.__dict__, "instances": tuple(ordered)})
    if handle.is_partial:
        return ModelCard(model)
    chosen = next((i for i in ordered if i.handle == handle.unversioned()), None)
    if chosen is None:
        shown = ", ".join(str(i.handle) for i in ordered) or "none"
        raise ModelNotFoundError(
            f"registry {registry.name!r}: model {model.ref} has no instance {text}", hint=f"its instances: {shown}"
        )
    version = handle.version or chosen.latest
    if version == chosen.latest:
        return ModelCard(model, chosen, version)
    return ModelCard(model, chosen, version, registry.describe_version(chosen.handle.with_version(version)))


def show_model(registries: Sequence[Registry], text: str) -> ModelCard:
    """The card of ``owner/model``, or of one instance (``owner/model/framework/variation[/version]``).

    The registries are asked in order; the first that has the model answers.
    """
    handle = Handle.parse(text)
    return first_that_has(registries, lambda r: _card(r, handle, text))[1]
