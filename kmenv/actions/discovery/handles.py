"""How discovery reads handles and names the folders ``kmenv download`` writes (shared with download)."""

from __future__ import annotations

from kmenv.errors import UsageError
from kmenv.values.handles import FRAMEWORKS, Handle

__all__ = ["default_download_dir", "fill_usage", "framework_rank", "full_handle"]


def full_handle(text: str) -> Handle:
    """``text`` as a handle naming one instance (owner/model/framework/variation, version optional)."""
    handle = Handle.parse(text)
    if handle.is_partial:
        raise UsageError(
            f"{text!r} is not a full handle",
            hint="write owner/model/framework/variation[/version]; `kmenv show OWNER/MODEL` lists the instances",
        )
    return handle


def framework_rank(framework: str) -> int:
    """Where a framework sorts: Kaggle's order of frameworks, unknown ones last."""
    return FRAMEWORKS.index(framework) if framework in FRAMEWORKS else len(FRAMEWORKS)


def default_download_dir(handle: Handle) -> str:
    """Where ``kmenv download`` puts a version's files under ``--path`` (the usage template's ``${PATH}``)."""
    return f"{handle.owner}/{handle.model}/{handle.framework}/{handle.variation}/{handle.version}"


def fill_usage(template: str, handle: Handle, url: str) -> str:
    """A usage example with Kaggle's template variables filled in for one versioned handle.

    ``${PATH}``/``${FILEPATH}`` become the folder ``kmenv download`` writes (relative to ``--path``).
    """
    values = {
        "VERSION_NUMBER": str(handle.version),
        "VARIATION_SLUG": handle.variation or "",
        "FRAMEWORK": handle.framework or "",
        "PATH": default_download_dir(handle),
        "FILEPATH": default_download_dir(handle),
        "URL": url,
    }
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    return template
