"""How big ``kmodels.lock`` may be: the byte cap every reader of it applies, before anything else is loaded.

A lock is generated, so its cap sits far above what a real one reaches: 8,000 models (the most kmodels.yaml can
declare) of ten files each are about 20 MB. Constants only, importing nothing: the no-op install's fast path
reads :data:`MAX_LOCK_BYTES` before pydantic is loaded.
"""

from __future__ import annotations

__all__ = ["MAX_LOCK_BYTES"]

#: The largest kmodels.lock read, in bytes.
MAX_LOCK_BYTES = 64 * 1024 * 1024
