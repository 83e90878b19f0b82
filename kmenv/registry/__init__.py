"""Registries: where model metadata and files come from (edge layer, does I/O)."""

from kmenv.registry.base import FileSource, Registry

__all__ = ["FileSource", "Registry"]
