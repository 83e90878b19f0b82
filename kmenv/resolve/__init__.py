"""Choose model versions: a resolvelib provider over the registries, with readable explanations when nothing fits.

Pure core: registries are reached only through the :class:`~kmenv.resolve.interface.ModelIndex` protocol (which every
:class:`kmenv.registry.base.Registry` satisfies), and progress leaves through :class:`ResolveReporter` hooks.

Rules, in the order they apply:

- A version is *eligible* for a model when it satisfies every version range on that model, the
  target environment meets its requirements (``python`` and libraries), and the licence policy
  allows it. Every ineligible version keeps its reasons for the explanation.
- Newest eligible version wins, except that a ``preferred`` version (the one already locked) is
  kept while it stays eligible and fits, so re-locking never upgrades silently. When models
  compete (one's newest version needs a base version another cannot take), declared models are
  served before bases, models free to move before those keeping a preferred version, then by
  name (see :mod:`kmenv.resolve._lookahead`).
- A fine-tune needs its base model (and a base of a base, ...). The base unifies with a declared
  model when the project declares that instance (same registry, one handle admits the other);
  then both version ranges hold. Otherwise it gets a derived name, ``<model>-<variation>``
  (lower case, folder-safe), suffixed ``-2``, ``-3``… in handle order when names collide.
- A partial handle (``owner/model`` or ``owner/model/variation``) chooses among frameworks only:
  if the instances it admits span more than one variation, resolution stops and asks for one.
  Instances whose framework the environment supports come first, ties go by the framework order
  of :data:`kmenv.values.handles.FRAMEWORKS`, and within an instance the newest version comes first.
- Same inputs give the same resolution, whatever order they arrive in; the search is bounded by
  ``max_rounds``.
"""

from kmenv.resolve._resolver import resolve
from kmenv.resolve.interface import Requirement, Resolution, ResolvedModel, ResolveReporter

__all__ = ["Requirement", "Resolution", "ResolveReporter", "ResolvedModel", "resolve"]
