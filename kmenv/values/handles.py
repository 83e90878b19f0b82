"""Kaggle model handles: ``owner/model/framework/variation[/version]`` and their partial forms.

Pure parsing, no I/O. Framework spellings are normalised the way Kaggle's own clients do it
(case- and underscore-insensitive), to the canonical handle spelling (``pyTorch``, ``tensorFlow2``).
A handle may also be written as the page it has on Kaggle (``https://www.kaggle.com/models/o/m/fw/v/3``,
also the older ``.../frameworks/Fw/variations/v/versions/3`` form) or as ``kaggle://o/m/fw/v[/n]``;
:meth:`Handle.parse` is the one place that reads all three, so every command and kmodels.yaml take them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from kmenv.errors import HandleError
from kmenv.values.paths import component_problem

__all__ = ["FRAMEWORKS", "Handle", "canonical_requirement", "closest_framework", "handle_path", "normalise_framework"]

#: Canonical handle spellings of Kaggle's ``ModelFramework`` enum, in enum order.
FRAMEWORKS: tuple[str, ...] = (
    "tensorFlow1",
    "tensorFlow2",
    "tfLite",
    "tfJs",
    "pyTorch",
    "jax",
    "coral",
    "scikitLearn",
    "mxnet",
    "onnx",
    "keras",
    "api",
    "other",
    "flax",
    "pax",
    "transformers",
    "maxText",
    "gemmaCpp",
    "ggml",
    "tensorRtLlm",
    "gguf",
    "triton",
    "vllm",
)


def _fold(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


_BY_FOLDED = {_fold(f): f for f in FRAMEWORKS}
_ENUM_PREFIX = "modelframework"
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def normalise_framework(name: str) -> str | None:
    """Return the canonical spelling of a framework name, or ``None`` if it is not one.

    Accepts handle spellings in any case (``PyTorch``, ``pytorch``), wire enum names
    (``MODEL_FRAMEWORK_PY_TORCH``) and underscore variants (``gemma_cpp``).
    """
    folded = _fold(name)
    if folded.startswith(_ENUM_PREFIX):
        folded = folded[len(_ENUM_PREFIX) :]
    return _BY_FOLDED.get(folded)


def closest_framework(name: str) -> str | None:
    """The valid framework spelling nearest to ``name``, for "did you mean" hints."""
    folded = _fold(name)
    import difflib  # only to suggest a name

    match = difflib.get_close_matches(folded, list(_BY_FOLDED), n=1, cutoff=0.5)
    return _BY_FOLDED[match[0]] if match else None


_WEB_HOSTS = frozenset({"kaggle.com", "www.kaggle.com"})
#: Where the older web layout (``o/m/frameworks/Fw/variations/v/versions/n``) puts its keywords.
_OLD_WEB_WORDS = ("frameworks", "variations", "versions")


def _from_web_path(text: str, segments: list[str]) -> str:
    """The handle in a Kaggle model page's path (after ``/models/``), in either web layout."""
    if len(segments) > 2 and segments[2] == _OLD_WEB_WORDS[0]:
        words, values = segments[2::2], segments[3::2]
        if len(words) != len(values) or tuple(words) != _OLD_WEB_WORDS[: len(words)]:
            raise HandleError(f"{text!r} is not a Kaggle model page", hint="copy the address of the model's page")
        segments = segments[:2] + values
    return "/".join(segments)


def handle_path(text: str) -> str:
    """The ``owner/model/...`` part of ``text``: itself, or what a Kaggle URL or ``kaggle://`` address names.

    Raises :class:`~kmenv.errors.HandleError` for a URL that is not a Kaggle model page.
    """
    raw = text.strip()
    if "://" not in raw:
        return raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme == "kaggle":
        return unquote(f"{parts.netloc}{parts.path}").strip("/")
    if scheme not in ("http", "https") or parts.netloc.lower() not in _WEB_HOSTS:
        raise HandleError(
            f"{text!r} is not a Kaggle model address",
            hint="write owner/model/framework/variation, kaggle://owner/model/..., or https://www.kaggle.com/models/...",
        )
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments or segments[0] != "models" or len(segments) < 3:
        raise HandleError(
            f"{text!r} is not a Kaggle model page",
            hint="model pages look like https://www.kaggle.com/models/OWNER/MODEL/FRAMEWORK/VARIATION[/VERSION]",
        )
    return _from_web_path(text, segments[1:])


def canonical_requirement(text: str) -> str:
    """``HANDLE[@SPEC]`` with the handle in its canonical spelling (a URL becomes ``owner/model/...``).

    What ``kmenv add`` writes to kmodels.yaml, so the file reads the same however the handle was given.
    """
    head, at, spec = text.strip().partition("@")
    return str(Handle.parse(head)) + (f"@{spec}" if at else "")


@dataclass(frozen=True, order=True)
class Handle:
    """A possibly partial model handle.

    ``framework`` and ``variation`` are ``None`` in a partial handle: ``owner/model`` leaves
    both open, and ``owner/model/variation`` (three parts, the middle one not a framework)
    fixes the variation but lets the resolver choose the framework. ``version`` is set only
    for a versioned handle (``.../3``).
    """

    owner: str
    model: str
    framework: str | None = None
    variation: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> Handle:
        """Parse a handle, a Kaggle model URL or a ``kaggle://`` address.

        Raises :class:`~kmenv.errors.HandleError` with a hint when malformed.
        """
        raw = handle_path(text)
        parts = raw.split("/")
        example = "owner/model/framework/variation, e.g. google/gemma/transformers/2b-it"
        if any(not p for p in parts):
            raise HandleError(f"handle {text!r} has an empty part", hint=f"write {example}")
        for part in parts:
            if not _SLUG.match(part):
                raise HandleError(
                    f"handle {text!r} has an invalid part {part!r}",
                    hint="parts use letters, digits, '-', '_' and '.'",
                )
            too_long = component_problem(part)
            if too_long is not None:
                raise HandleError(
                    f"handle {text!r} has a part that {too_long.removeprefix('it ')}",
                    hint="each part of a handle becomes a folder name; check the handle on its Kaggle page",
                )
        if len(parts) == 2:
            return cls(parts[0], parts[1])
        if len(parts) == 3:
            framework = normalise_framework(parts[2])
            if framework is not None:
                raise HandleError(
                    f"handle {text!r} names a framework but no variation",
                    hint=f"add the variation ({raw}/<variation>) or drop the framework ({parts[0]}/{parts[1]})",
                )
            return cls(parts[0], parts[1], None, parts[2])
        if len(parts) in (4, 5):
            framework = normalise_framework(parts[2])
            if framework is None:
                near = closest_framework(parts[2])
                hint = f"did you mean {near!r}?" if near else f"frameworks are: {', '.join(FRAMEWORKS)}"
                raise HandleError(f"handle {text!r}: unknown framework {parts[2]!r}", hint=hint)
            version = None
            if len(parts) == 5:
                if not parts[4].isdigit() or len(parts[4]) > 18 or int(parts[4]) < 1:
                    raise HandleError(
                        f"handle {text!r}: version {parts[4]!r} is not a positive integer",
                        hint="Kaggle versions are whole numbers: 1, 2, 3, ...",
                    )
                version = int(parts[4])
            return cls(parts[0], parts[1], framework, parts[3], version)
        raise HandleError(f"handle {text!r} has {len(parts)} parts", hint=f"write {example}")

    @property
    def is_partial(self) -> bool:
        return self.framework is None

    @property
    def instance(self) -> str:
        """The full instance handle without version; only valid when not partial."""
        if self.framework is None or self.variation is None:
            raise ValueError(f"{self} is a partial handle")
        return f"{self.owner}/{self.model}/{self.framework}/{self.variation}"

    def unversioned(self) -> Handle:
        return Handle(self.owner, self.model, self.framework, self.variation)

    def with_version(self, version: int) -> Handle:
        return Handle(self.owner, self.model, self.framework, self.variation, version)

    def admits(self, other: Handle) -> bool:
        """True when the full handle ``other`` is one this (possibly partial) handle may choose."""
        return (
            self.owner == other.owner
            and self.model == other.model
            and (self.framework is None or self.framework == other.framework)
            and (self.variation is None or self.variation == other.variation)
        )

    def __str__(self) -> str:
        parts = [self.owner, self.model]
        if self.framework is not None:
            parts.append(self.framework)
        if self.variation is not None:
            parts.append(self.variation)
        if self.version is not None:
            parts.append(str(self.version))
        return "/".join(parts)
