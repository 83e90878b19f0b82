"""Exports of the lock for other tools: a CycloneDX 1.6 bill of materials and pip requirements.

Pure: a parsed lock in, text out.
"""

from __future__ import annotations

from kmenv.export._cyclonedx import cyclonedx_bom, render_cyclonedx
from kmenv.export._requirements import merged_requirements, render_requirements

__all__ = ["EXPORT_FORMATS", "cyclonedx_bom", "merged_requirements", "render_cyclonedx", "render_requirements"]

EXPORT_FORMATS = ("cyclonedx", "requirements")
