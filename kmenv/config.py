"""Where kmenv keeps things and which knobs the environment turns (``KMENV_*`` variables).

Locations follow platformdirs and are overridable one by one; nothing here touches the disk
beyond reading environment variables, so it is safe on the no-op fast path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kmenv.errors import UsageError

__all__ = ["LINK_MODES", "Settings", "env_flag", "ledger_dir", "resolve_link_mode"]

APP = "kmenv"
DEFAULT_WORKERS = 8
#: How store blobs enter an environment (``--link-mode``, ``KMENV_LINK_MODE``); ``auto`` tries the others in turn.
LINK_MODES = ("auto", "reflink", "hardlink", "copy")


def env_flag(name: str) -> bool:
    """True when an environment variable is set to a truthy value (1, true, yes, on)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_link_mode(value: str | None) -> str:
    """The link mode a ``--link-mode``/``KMENV_LINK_MODE`` value names; unset means ``auto``."""
    mode = (value or "auto").strip().lower()
    if mode not in LINK_MODES:
        raise UsageError(
            f"link mode {value!r} is not one of {', '.join(LINK_MODES)}",
            hint=f"set --link-mode or KMENV_LINK_MODE to one of: {', '.join(LINK_MODES)}",
        )
    return mode


def _dir(var: str, override: str | Path | None, default: str) -> Path:
    if override:
        return Path(override).expanduser().resolve()
    value = os.environ.get(var)
    if value:
        return Path(value).expanduser().resolve()
    return Path(default)


@dataclass(frozen=True)
class Settings:
    """Resolved run settings: directories, offline mode, link mode and parallelism."""

    cache_dir: Path
    data_dir: Path
    config_dir: Path
    offline: bool
    link_mode: str
    max_workers: int
    ledger: bool

    @classmethod
    def load(
        cls,
        *,
        cache_dir: str | Path | None = None,
        offline: bool | None = None,
        link_mode: str | None = None,
    ) -> Settings:
        """Combine command-line overrides with ``KMENV_*`` variables and platform defaults."""
        import platformdirs

        mode = resolve_link_mode(link_mode or os.environ.get("KMENV_LINK_MODE"))
        workers_text = os.environ.get("KMENV_MAX_WORKERS", "").strip()
        if workers_text:
            if not workers_text.isdigit() or int(workers_text) < 1:
                raise UsageError(
                    f"KMENV_MAX_WORKERS={workers_text!r} is not a positive whole number",
                    hint="unset it or set it to e.g. 8",
                )
            workers = int(workers_text)
        else:
            workers = DEFAULT_WORKERS
        return cls(
            cache_dir=_dir("KMENV_CACHE_DIR", cache_dir, platformdirs.user_cache_dir(APP)),
            data_dir=_dir("KMENV_DATA_DIR", None, platformdirs.user_data_dir(APP)),
            config_dir=_dir("KMENV_CONFIG_DIR", None, platformdirs.user_config_dir(APP)),
            offline=env_flag("KMENV_OFFLINE") if offline is None else offline,
            link_mode=mode,
            max_workers=workers,
            ledger=not env_flag("KMENV_NO_LEDGER"),
        )


_ledger_dirs: dict[str | None, Path] = {}  # KMENV_DATA_DIR value → folder: resolving costs system calls


def ledger_dir(data_dir: str | Path | None = None) -> Path | None:
    """The usage ledger's folder: ``data_dir``, else ``KMENV_DATA_DIR``, else the platform's data folder; None when
    ``KMENV_NO_LEDGER`` turns the ledger off (the rule behind :class:`Settings`' ``data_dir`` and ``ledger``).

    ``kmenv.path()`` records a use on the hot path of user code, where :meth:`Settings.load` costs too much: this
    reads two variables, imports platformdirs only when ``KMENV_DATA_DIR`` is unset, and resolves each value once.
    """
    if env_flag("KMENV_NO_LEDGER"):
        return None
    if data_dir is not None:
        return Path(data_dir)
    value = os.environ.get("KMENV_DATA_DIR") or None
    found = _ledger_dirs.get(value)
    if found is None:
        if value:
            found = Path(value).expanduser().resolve()
        else:
            import platformdirs

            found = Path(platformdirs.user_data_dir(APP))
        _ledger_dirs[value] = found
    return found
