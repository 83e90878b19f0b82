"""What every ``--json`` document model shares: no unknown field, every field written, one spelling of a time."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Change", "Document", "Part", "Timestamp", "closed"]

#: A time as every document writes it (:mod:`kmenv.values.times`): ISO-8601 UTC, whole seconds, ``Z``.
Timestamp = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")]


class Part(BaseModel):
    """A part of a document: every field is required (None is written as null), none other is allowed."""

    model_config = ConfigDict(extra="forbid")


class Document(Part):
    """A whole document; the schema writer adds its ``schema_version`` (the one
    :data:`kmenv.actions.outputs.versions.VERSIONS` gives its kind, as a constant)."""


def closed(schema: Any) -> None:
    """Make every object of ``schema`` refuse unknown fields and require each of its own, in place.

    Documents write every field (null when absent), so a field with a default in the value it comes from (a
    dataclass used as its own description) is required all the same.
    """
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict):
            schema["additionalProperties"] = False
            schema["required"] = sorted(schema["properties"])
        for value in schema.values():
            closed(value)
    elif isinstance(schema, list):
        for value in schema:
            closed(value)


class Change(Part):
    """A model's version move; null stands for absent (added, removed)."""

    name: str
    old: int | None
    new: int | None
