"""Where kmenv keeps things and which knobs the environment turns (``KMENV_*`` variables).

Locations follow platformdirs and are overridable one by one; nothing here touches the disk
beyond reading environment variables, so it is safe on the no-op fast path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kmenv.errors import UsageError

__all__ = [
    "DEFAULT_CONNECTIONS",
    "DEFAULT_KEEP_GENERATIONS",
    "LINK_MODES",
    "MAX_CONNECTIONS",
    "MAX_KEEP_GENERATIONS",
    "MAX_WORKERS",
    "Settings",
    "cache_max",
    "env_flag",
    "env_switch",
    "install_mode",
    "keep_generations",
    "ledger_dir",
    "max_connections",
    "max_workers",
    "registry_token",
    "registry_token_variable",
    "resolve_link_mode",
    "shared_cache",
]

APP = "kmenv"
DEFAULT_WORKERS = 8
#: The most parallel downloads ``KMENV_MAX_WORKERS`` may ask for; past it, threads and connections only contend.
MAX_WORKERS = 256
#: Byte ranges of one large file fetched at once at most (``--connections``, ``KMENV_CONNECTIONS``).
DEFAULT_CONNECTIONS = 16
#: The most ``--connections`` may ask for; past it, connections only contend.
MAX_CONNECTIONS = 64
#: Generations an environment keeps after each install, the one in use included, when nothing says otherwise.
DEFAULT_KEEP_GENERATIONS = 3
#: The most ``KMENV_KEEP_GENERATIONS`` may ask for (the same bound as ``cleanup.keep-generations``).
MAX_KEEP_GENERATIONS = 1000
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


#: What a strict switch (``KMENV_LOCKED``, ``KMENV_FROZEN``, ``KMENV_NO_PROGRESS``) may say, case aside.
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"", "0", "false", "no"})


def env_switch(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """A strict on/off variable: ``1``/``true``/``yes`` on, unset/empty/``0``/``false``/``no`` off, else exit 2.

    Unlike :func:`env_flag` a typo is refused: ``KMENV_LOCKED=ture`` silently meaning "not locked" would let
    a CI job rewrite the lock it was meant to check.
    """
    value = (os.environ if environ is None else environ).get(name, "")
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise UsageError(
        f"{name}={_shown(value)} is not a yes/no value",
        hint=f"set {name} to 1, true or yes (on), or 0, false, no or nothing (off)",
    )


def install_mode(*, locked: bool, frozen: bool, environ: Mapping[str, str] | None = None) -> tuple[bool, bool]:
    """``(locked, frozen)`` for an install: the command-line flags, else ``KMENV_LOCKED``/``KMENV_FROZEN``.

    A flag on the command line wins over both variables; the two variables together are a usage error, as the
    two flags are.
    """
    env_locked, env_frozen = env_switch("KMENV_LOCKED", environ), env_switch("KMENV_FROZEN", environ)
    if locked or frozen:
        return locked, frozen
    if env_locked and env_frozen:
        raise UsageError(
            "KMENV_LOCKED and KMENV_FROZEN are both set",
            hint="set one of them: KMENV_LOCKED checks the lock is fresh, KMENV_FROZEN installs it unchecked",
        )
    return env_locked, env_frozen


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


def _whole_number(var: str, text: str, low: int, high: int, example: int) -> int:
    """``text`` as a whole number from ``low`` to ``high``, or a usage error naming ``var`` (the
    :func:`max_workers` rule: ASCII digits only, checked before any conversion)."""
    hint = f"set {var} to a whole number from {low} to {high}, e.g. {example}, or unset it"
    if not re.fullmatch(r"[0-9]+", text):
        raise UsageError(f"{var}={_shown(text)} is not a whole number", hint=hint)
    digits = text.lstrip("0")
    number = int(digits) if 0 < len(digits) <= len(str(high)) else (0 if not digits else high + 1)
    if not low <= number <= high:
        raise UsageError(f"{var}={_shown(text)} is outside {low}–{high}", hint=hint)
    return number


def max_connections(text: str | None, *, source: str = "KMENV_CONNECTIONS") -> int:
    """The most connections one large file may use, as ``--connections`` or ``KMENV_CONNECTIONS`` says it
    (unset or blank: the default); ``source`` names which in the error. 1 never splits a file."""
    text = (text or "").strip()
    if not text:
        return DEFAULT_CONNECTIONS
    return _whole_number(source, text, 1, MAX_CONNECTIONS, DEFAULT_CONNECTIONS)


def keep_generations(text: str | None) -> int | None:
    """The generations ``KMENV_KEEP_GENERATIONS`` keeps per environment; None when unset (kmodels.yaml decides)."""
    text = (text or "").strip()
    if not text:
        return None
    return _whole_number("KMENV_KEEP_GENERATIONS", text, 1, MAX_KEEP_GENERATIONS, DEFAULT_KEEP_GENERATIONS)


def cache_max(text: str | None) -> int | None:
    """The store's size budget in bytes ``KMENV_CACHE_MAX`` sets (``20GiB``); None when unset (no budget)."""
    from kmenv.values.sizes import SIZE_HINT, parse_size

    text = (text or "").strip()
    if not text:
        return None
    size = parse_size(text)
    if size is None:
        raise UsageError(
            f"KMENV_CACHE_MAX={_shown(text)} is not a size",
            hint=f"set KMENV_CACHE_MAX to a size: {SIZE_HINT}; or unset it",
        )
    return size


def shared_cache(text: str | None, cache_dir: Path | None = None) -> Path | None:
    """The read-only shared store ``KMENV_SHARED_CACHE`` names (:mod:`kmenv.store.shared`); None when unset.

    The value must be an absolute path (``~`` allowed: a relative one would mean another folder in every project)
    that is not a file and not the personal store itself. A folder that does not exist is accepted here and skipped
    with a warning when used: an NFS mount that is down should slow installs, not fail them.
    """
    text = (text or "").strip()
    if not text:
        return None
    hint = "set KMENV_SHARED_CACHE to the absolute path of a store folder filled by `kmenv cache export`, or unset it"
    if not Path(text).expanduser().is_absolute():
        raise UsageError(f"KMENV_SHARED_CACHE={_shown(text)} is not an absolute path", hint=hint)
    path = _path(text, "KMENV_SHARED_CACHE")
    if path.exists() and not path.is_dir():
        raise UsageError(f"KMENV_SHARED_CACHE={_shown(text)} is a file, not a folder", hint=hint)
    if cache_dir is not None and path == cache_dir.resolve():
        raise UsageError(
            f"KMENV_SHARED_CACHE={_shown(text)} is the personal cache itself",
            hint="point KMENV_SHARED_CACHE at a separate folder (it is only read), or unset it",
        )
    return path


@dataclass(frozen=True)
class Settings:
    """Resolved run settings: directories, offline mode, link mode and parallelism.

    ``keep_generations`` and ``cache_max`` are what ``KMENV_KEEP_GENERATIONS`` and ``KMENV_CACHE_MAX`` say (None
    when unset); they win over a project's ``cleanup:`` section. ``shared_cache`` is the read-only store
    ``KMENV_SHARED_CACHE`` names (None when unset), consulted before any download. ``connections``: the most
    byte ranges of one large file in flight (``--connections``, else ``KMENV_CONNECTIONS``, else 16).
    """

    cache_dir: Path
    data_dir: Path
    config_dir: Path
    offline: bool
    link_mode: str
    max_workers: int
    ledger: bool
    keep_generations: int | None = None
    cache_max: int | None = None
    shared_cache: Path | None = None
    connections: int = DEFAULT_CONNECTIONS

    @classmethod
    def load(
        cls,
        *,
        cache_dir: str | Path | None = None,
        offline: bool | None = None,
        link_mode: str | None = None,
        connections: int | None = None,
    ) -> Settings:
        """Combine command-line overrides with ``KMENV_*`` variables and platform defaults (an override wins)."""
        import platformdirs

        mode = resolve_link_mode(link_mode or os.environ.get("KMENV_LINK_MODE"))
        workers = max_workers(os.environ.get("KMENV_MAX_WORKERS"))
        keep = keep_generations(os.environ.get("KMENV_KEEP_GENERATIONS"))
        budget = cache_max(os.environ.get("KMENV_CACHE_MAX"))
        cache = _dir("KMENV_CACHE_DIR", cache_dir, platformdirs.user_cache_dir(APP))
        return cls(
            cache_dir=cache,
            data_dir=_dir("KMENV_DATA_DIR", None, platformdirs.user_data_dir(APP)),
            config_dir=_dir("KMENV_CONFIG_DIR", None, platformdirs.user_config_dir(APP)),
            offline=env_flag("KMENV_OFFLINE") if offline is None else offline,
            link_mode=mode,
            max_workers=workers,
            ledger=not env_flag("KMENV_NO_LEDGER"),
            keep_generations=keep,
            cache_max=budget,
            shared_cache=shared_cache(os.environ.get("KMENV_SHARED_CACHE"), cache),
            connections=connections or max_connections(os.environ.get("KMENV_CONNECTIONS")),
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
