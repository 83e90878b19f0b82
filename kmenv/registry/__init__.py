"""Registries: where model metadata and files come from (edge layer, does I/O)."""

from kmenv.registry.base import Registry

__all__ = ["Registry"]
