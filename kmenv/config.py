"""Where kmenv keeps things and which knobs the environment turns (``KMENV_*`` variables).

Locations follow platformdirs and are overridable one by one; nothing here touches the disk
beyond reading environment variables, so it is safe on the no-op fast path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kmenv.errors import UsageError

__all__ = [
    "LINK_MODES",
    "MAX_WORKERS",
    "Settings",
    "env_flag",
    "ledger_dir",
    "max_workers",
    "registry_token",
    "registry_token_variable",
    "resolve_link_mode",
]

APP = "kmenv"
DEFAULT_WORKERS = 8
#: The most parallel downloads ``KMENV_MAX_WORKERS`` may ask for; past it, threads and connections only contend.
MAX_WORKERS = 256
#: How much of a bad value an error message quotes.
_SHOWN_CHARS = 40
#: How store blobs enter an environment (``--link-mode``, ``KMENV_LINK_MODE``); ``auto`` tries the others in turn.
LINK_MODES = ("auto", "reflink", "hardlink", "copy")


def env_flag(name: str) -> bool:
    """True when an environment variable is set to a truthy value (1, true, yes, on)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def registry_token_variable(registry: str) -> str:
    """``KMENV_REGISTRY_<NAME>_TOKEN`` for a registry named in kmodels.yaml: upper case, other characters ``_``."""
    return "KMENV_REGISTRY_" + re.sub(r"[^A-Z0-9]", "_", registry.upper()) + "_TOKEN"


def registry_token(registry: str) -> str | None:
    """The bearer token the environment holds for ``registry`` (None when unset or blank); never logged."""
    token = os.environ.get(registry_token_variable(registry), "").strip()
    return token or None


def _shown(value: str) -> str:
    """``value`` quoted for a message, cut short: a setting can be as long as the environment allows."""
    return repr(value) if len(value) <= _SHOWN_CHARS else repr(value[:_SHOWN_CHARS]) + "…"


def resolve_link_mode(value: str | None) -> str:
    """The link mode a ``--link-mode``/``KMENV_LINK_MODE`` value names; unset means ``auto``."""
    mode = (value or "auto").strip().lower()
    if mode not in LINK_MODES:
        raise UsageError(
            f"link mode {_shown(value or '')} is not one of {', '.join(LINK_MODES)}",
            hint=f"set --link-mode or KMENV_LINK_MODE to one of: {', '.join(LINK_MODES)}",
        )
    return mode


def _path(value: str | Path, var: str | None) -> Path:
    """``value`` as an absolute path; a ``~user`` that names no user is a usage error naming where it came from."""
    try:
        return Path(value).expanduser().resolve()
    except (RuntimeError, OSError, ValueError) as exc:  # ~nosuchuser, a name the system refuses
        source = f"{var}={_shown(str(value))}" if var else _shown(str(value))
        raise UsageError(f"{source} is not a usable folder: {exc}", hint="give an absolute path") from None


def _dir(var: str, override: str | Path | None, default: str) -> Path:
    if override:
        return _path(override, None)
    value = os.environ.get(var)
    if value:
        return _path(value, var)
    return Path(default)


def max_workers(text: str | None) -> int:
    """The number of parallel downloads ``KMENV_MAX_WORKERS`` asks for (unset or blank: the default).

    Only ASCII digits count (``str.isdigit`` also accepts ``²``, which ``int`` refuses), and the value is checked
    before it is converted, so neither a superscript nor a 5,000-digit value gets past a usage error.
    """
    text = (text or "").strip()
    if not text:
        return DEFAULT_WORKERS
    hint = f"set KMENV_MAX_WORKERS to a whole number from 1 to {MAX_WORKERS}, e.g. {DEFAULT_WORKERS}, or unset it"
    if not re.fullmatch(r"[0-9]+", text):
        raise UsageError(f"KMENV_MAX_WORKERS={_shown(text)} is not a whole number", hint=hint)
    digits = text.lstrip("0")
    workers = int(digits) if 0 < len(digits) <= len(str(MAX_WORKERS)) else (0 if not digits else MAX_WORKERS + 1)
    if workers < 1:
        raise UsageError(f"KMENV_MAX_WORKERS={_shown(text)}: at least one download must run", hint=hint)
    if workers > MAX_WORKERS:
        message = f"KMENV_MAX_WORKERS={_shown(text)} is more than {MAX_WORKERS}, the most kmenv runs at once"
        raise UsageError(message, hint=hint)
    return workers


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
        workers = max_workers(os.environ.get("KMENV_MAX_WORKERS"))
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
            found = _path(value, "KMENV_DATA_DIR")
        else:
            import platformdirs

            found = Path(platformdirs.user_data_dir(APP))
        _ledger_dirs[value] = found
    return found
