"""``kmenv doctor``: what this machine gives kmenv, checked for real, in one report.

Each check does the thing it reports on rather than guessing from configuration: the cache is written to,
each link mode is tried on two files in a temp folder inside the cache (and from the cache into the project,
where installs link), and the Kaggle API is asked its ``Hello`` (what ``kagglehub.whoami`` asks). Credentials
are looked up with the same function every command uses and reported by *source* only; the secret never leaves
:class:`~kmenv.registry.kaggle.auth.Credentials`.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmenv._version import __version__
from kmenv.config import Settings
from kmenv.environment.linking import link_file
from kmenv.errors import KmenvError
from kmenv.registry.kaggle.auth import Credentials, find_credentials
from kmenv.registry.kaggle.client import resolve_base_url

__all__ = ["LOW_SPACE", "Check", "DoctorReport", "diagnose"]

#: Free space under which a folder is reported as a warning (model files are often gigabytes).
LOW_SPACE = 1 << 30
#: The call kagglehub's ``whoami`` makes: answers the user name the credentials belong to.
HELLO = "api.v1.DiagnosticsService/Hello"
_TIMEOUT = (5.0, 10.0)


@dataclass(frozen=True)
class Check:
    """One finding: ``status`` is ``ok``, ``warn``, ``fail`` or ``skipped``; ``detail`` says what was seen."""

    name: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class DoctorReport:
    """The machine's facts (versions, paths) and the checks run on them."""

    facts: Mapping[str, str]
    paths: Mapping[str, str | None]
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        """No check failed (warnings and skipped checks are not failures)."""
        return all(check.status != "fail" for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.facts,
            "paths": dict(self.paths),
            "checks": [c.as_dict() for c in self.checks],
            "healthy": self.healthy,
        }


def _probe(src_dir: Path, dst_dir: Path) -> dict[str, bool]:
    """Which of reflink, hardlink and symlink work from a file in ``src_dir`` to a new one in ``dst_dir``."""
    source = src_dir / "source"
    source.write_bytes(b"kmenv doctor\n")
    works = {}
    for mode in ("reflink", "hardlink"):
        try:
            link_file(source, dst_dir / mode, mode)
            works[mode] = True
        except (KmenvError, OSError):
            works[mode] = False
    try:
        os.symlink(source, dst_dir / "symlink")
        works["symlink"] = True
    except OSError:
        works["symlink"] = False
    return works


def _link_check(name: str, src_parent: Path, dst_parent: Path | None) -> Check:
    """Link modes from a temp folder in ``src_parent`` to one in ``dst_parent`` (default: the same folder)."""
    made: list[Path] = []
    try:
        src = Path(tempfile.mkdtemp(prefix=".kmenv-doctor-", dir=src_parent))
        made.append(src)
        dst = src
        if dst_parent is not None:
            dst = Path(tempfile.mkdtemp(prefix=".kmenv-doctor-", dir=dst_parent))
            made.append(dst)
        works = _probe(src, dst)
    except OSError as exc:
        return Check(name, "fail", f"cannot write a test file in {src_parent}: {exc.strerror or exc}")
    finally:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
    usable = [mode for mode in ("reflink", "hardlink", "symlink") if works[mode]]
    refused = [mode for mode in ("reflink", "hardlink", "symlink") if not works[mode]]
    detail = f"{', '.join(usable) or 'none'} work" + (f"; {', '.join(refused)} refused" if refused else "")
    # Without reflink or hardlink every install copies: it works, at the cost of the space twice.
    status = "ok" if works["reflink"] or works["hardlink"] else "warn"
    return Check(name, status, detail + ("" if status == "ok" else " (installs will copy files)"))


def _space_check(name: str, folder: Path) -> Check:
    from kmenv.values.candidates import format_size

    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError as exc:
        return Check(name, "fail", f"cannot read free space of {probe}: {exc.strerror or exc}")
    detail = f"{format_size(usage.free)} free of {format_size(usage.total)} ({probe})"
    return Check(name, "warn" if usage.free < LOW_SPACE else "ok", detail)


def _credentials(env: Mapping[str, str]) -> tuple[Check, Credentials | None]:
    warnings: list[str] = []
    try:
        found = find_credentials(env, warn=warnings.append)
    except KmenvError as exc:
        return Check("kaggle credentials", "fail", exc.message), None
    if found is None:
        return Check("kaggle credentials", "ok", "none found: anonymous (public models only)"), None
    status = "warn" if warnings else "ok"
    return Check("kaggle credentials", status, found.describe() + "".join(f"; {w}" for w in warnings)), found


def _hello(base: str, credentials: Credentials | None, offline: bool) -> Check:
    """Ask the API who we are; a round trip proves the URL, the network and (when given) the credentials."""
    if offline:
        return Check("kaggle api", "skipped", f"{base}: offline (--offline / KMENV_OFFLINE)")
    import requests

    headers = {"Content-Type": "application/json", **(credentials.headers() if credentials else {})}
    try:
        response = requests.post(f"{base}/{HELLO}", json={}, headers=headers, timeout=_TIMEOUT)
    except requests.RequestException as exc:
        return Check("kaggle api", "fail", f"{base}: no answer ({type(exc).__name__})")
    with response:
        try:
            data = response.json()
        except ValueError:
            data = None
    code = data.get("code") if isinstance(data, dict) and isinstance(data.get("code"), int) else response.status_code
    user = data.get("userName") if isinstance(data, dict) else None
    if code == 200 and user:
        return Check("kaggle api", "ok", f"{base}: answered, signed in as {user}")
    if code in (401, 403):
        if credentials is None:
            return Check("kaggle api", "ok", f"{base}: answered (anonymous)")
        return Check("kaggle api", "fail", f"{base}: the credentials were refused (HTTP {code})")
    if code == 200:
        return Check("kaggle api", "ok", f"{base}: answered")
    return Check("kaggle api", "fail", f"{base}: answered HTTP {code}")


def diagnose(
    settings: Settings,
    project_root: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    hello: Callable[[str, Credentials | None, bool], Check] = _hello,
) -> DoctorReport:
    """Run every check; ``project_root`` is None outside a project (its checks are then left out)."""
    env = os.environ if env is None else env
    facts = {
        "version": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
    }
    env_path = project_root / ".kmenv" if project_root is not None else None
    paths: dict[str, str | None] = {
        "cache": str(settings.cache_dir),
        "data": str(settings.data_dir),
        "config": str(settings.config_dir),
        "project": None if project_root is None else str(project_root),
        "environment": None if env_path is None else str(env_path),
    }
    checks: list[Check] = []
    try:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        checks.append(_link_check("cache link modes", settings.cache_dir, None))
    except OSError as exc:
        checks.append(Check("cache link modes", "fail", f"cannot create {settings.cache_dir}: {exc.strerror or exc}"))
    if project_root is not None and settings.cache_dir.is_dir():
        checks.append(_link_check("cache → project link modes", settings.cache_dir, project_root))
    checks.append(_space_check("cache free space", settings.cache_dir))
    if project_root is not None:
        checks.append(_space_check("project free space", project_root))
    credential_check, credentials = _credentials(env)
    checks.append(credential_check)
    try:
        base = resolve_base_url(env=env)
    except KmenvError as exc:
        checks.append(Check("kaggle api", "fail", exc.message))
    else:
        facts["api"] = base
        checks.append(hello(base, credentials, settings.offline))
    return DoctorReport(facts, paths, tuple(checks))
