"""One exception tree for kmenv; each error carries a message, a hint and an exit code.

The CLI entry point is the only place that renders these (one line plus a hint); every
leaf also inherits the builtin it resembles so that library users can catch it naturally::

    KmenvError                                  exit 1
    ├── UsageError (ValueError)                 exit 2   bad flags or arguments
    │   ├── ProjectNotFoundError (FileNotFoundError)
    │   ├── HandleError                         a malformed model handle string
    │   ├── LocatedProblemsError                input with located problems (all of them, in one pass)
    │   │   ├── SpecError                       kmodels.yaml problems
    │   │   └── RegistrySourceError             a registry build's source folder problems
    │   ├── LockfileError                       corrupt or hand-edited kmodels.lock
    │   ├── StaleLockError                      --locked with a lock the inputs no longer admit
    │   └── NotInstalledError (LookupError)     a model name the project or environment lacks
    ├── ResolutionImpossible                    exit 3   no set of versions satisfies everything
    ├── PolicyViolation                         exit 4   a licence the policy does not allow
    ├── RegistryError                           exit 5   registry or network trouble
    │   ├── RegistryDocumentError (ValueError)  a registry document breaks its schema
    │   ├── ModelNotFoundError (LookupError)    exit 2: the registry has no such model, version or file
    │   └── NetworkError (ConnectionError)      after retries
    ├── IntegrityError                          exit 6   size or hash mismatch, damaged environment
    ├── StorageError (OSError)                  exit 7   a disk is full, read-only or not writable
    └── Interrupted                             exit 130 Ctrl-C
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTEGRITY",
    "EXIT_INTERRUPTED",
    "EXIT_NO_RESOLUTION",
    "EXIT_OK",
    "EXIT_POLICY",
    "EXIT_REGISTRY",
    "EXIT_STORAGE",
    "EXIT_USAGE",
    "MAX_LINE_CHARS",
    "MAX_PROBLEMS_SHOWN",
    "MAX_QUOTED_CHARS",
    "HandleError",
    "IntegrityError",
    "Interrupted",
    "KmenvError",
    "LocatedProblemsError",
    "LockfileError",
    "ModelNotFoundError",
    "NetworkError",
    "NotInstalledError",
    "PolicyViolation",
    "Problem",
    "ProjectNotFoundError",
    "RegistryDocumentError",
    "RegistryError",
    "RegistrySourceError",
    "ResolutionImpossible",
    "SpecError",
    "StaleLockError",
    "StorageError",
    "UsageError",
    "clip_text",
    "shown_lines",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NO_RESOLUTION = 3
EXIT_POLICY = 4
EXIT_REGISTRY = 5
EXIT_INTEGRITY = 6
EXIT_STORAGE = 7
EXIT_INTERRUPTED = 130

#: How many located problems an error lists under its headline; the rest are counted, so a file with thousands
#: of problems prints a screenful, not megabytes.
MAX_PROBLEMS_SHOWN = 50
#: The longest run of text without a space an error line keeps (a path fits; a 2 MB line or a 5,000-byte name
#: quoted whole does not); longer runs are cut short with an ellipsis.
MAX_QUOTED_CHARS = 240
#: The longest line an error prints (its message, a detail or the hint), in characters.
MAX_LINE_CHARS = 1000
_LONG_RUN = re.compile(rf"\S{{{MAX_QUOTED_CHARS + 1},}}")


def clip_text(text: str) -> str:
    """``text`` on one line with each run of more than :data:`MAX_QUOTED_CHARS` non-space characters, and the
    whole past :data:`MAX_LINE_CHARS`, cut short (an ellipsis says where): quoting hostile input prints a line,
    not megabytes."""
    text = " ".join(text[: 4 * MAX_LINE_CHARS].splitlines())  # the rest is cut anyway: never scan megabytes
    text = _LONG_RUN.sub(lambda m: m.group()[:MAX_QUOTED_CHARS] + "…", text)
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + "…"


def shown_lines(lines: Sequence[str], *, total: int | None = None) -> list[str]:
    """The first :data:`MAX_PROBLEMS_SHOWN` of ``lines``, each clipped (:func:`clip_text`), then how many more
    there are (of ``total``, when the caller rendered only the first few of many)."""
    shown = [clip_text(line) for line in lines[:MAX_PROBLEMS_SHOWN]]
    more = (len(lines) if total is None else total) - len(shown)
    if more > 0:
        shown.append(f"... and {more} more problem{'s' if more > 1 else ''} (fix these and run again to see them)")
    return shown


class KmenvError(Exception):
    """Root of every error kmenv raises on purpose.

    ``message`` says what went wrong and where; ``hint`` says what to do about it.
    """

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self._details = list(details or [])

    def __str__(self) -> str:
        return self.message

    def details(self) -> list[str]:
        """Further lines (one per problem) the CLI prints under the message: at most :data:`MAX_PROBLEMS_SHOWN`
        and a count of the rest, each clipped."""
        return shown_lines(self._details)


class UsageError(KmenvError, ValueError):
    """The user's input (flags, files, names) is wrong; nothing was changed."""

    exit_code = EXIT_USAGE


class ProjectNotFoundError(UsageError, FileNotFoundError):
    """No kmodels.yaml was found upward from the working directory."""


class HandleError(UsageError):
    """A handle string is malformed; ``hint`` says what a valid one looks like.

    It is a usage error (and so a ``ValueError``) because a handle is always something the
    user typed, on the command line or in a file; callers that know the file turn it into a
    located :class:`Problem` instead.
    """


@dataclass(frozen=True)
class Problem:
    """One problem in an input file, located as precisely as we can.

    ``key`` is the dotted path (``models.gemma.version``); ``line``/``column`` are 1-based
    and ``None`` when the problem has no single place (a missing top-level key, say).
    """

    file: str
    key: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None

    def location(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        return place

    def render(self, *, with_hint: bool = True) -> str:
        key = f" {self.key}:" if self.key else ""
        text = f"{self.location()}:{key} {self.message}"
        if with_hint and self.hint:
            text += f" (hint: {self.hint})"
        return text


class LocatedProblemsError(UsageError):
    """Input with one or more located problems, all of them in ``problems``.

    Checking reports every problem in one pass rather than stopping at the first. The
    headline is the problem itself when there is one; each leaf words the headline for
    several, and :meth:`details` lists them all under it.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        message, hint = self._headline(self.problems[0], len(self.problems) - 1)
        super().__init__(message, hint=hint)

    @staticmethod
    def _headline(first: Problem, more: int) -> tuple[str, str | None]:
        """The message and hint for ``first`` followed by ``more`` further problems."""
        return first.render(with_hint=False), first.hint

    def details(self) -> list[str]:
        """The problems, one line each, for the CLI to print under the headline: the first
        :data:`MAX_PROBLEMS_SHOWN`, then how many more there are (``problems`` keeps them all)."""
        if len(self.problems) < 2:
            return []
        return shown_lines([p.render() for p in self.problems[: MAX_PROBLEMS_SHOWN + 1]], total=len(self.problems))


class SpecError(LocatedProblemsError):
    """kmodels.yaml has one or more problems; several are headed by their count and file."""

    @staticmethod
    def _headline(first: Problem, more: int) -> tuple[str, str | None]:
        if not more:
            return first.render(with_hint=False), first.hint
        return f"{more + 1} problems in {first.file}", None


class RegistrySourceError(LocatedProblemsError):
    """A registry build's source folder has problems; several are headed by the first and a count."""

    @staticmethod
    def _headline(first: Problem, more: int) -> tuple[str, str | None]:
        message = first.render(with_hint=False)
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        return message, first.hint


class LockfileError(UsageError):
    """kmodels.lock cannot be read: corrupt, hand-edited, or from a newer kmenv."""


class StaleLockError(UsageError):
    """``--locked`` was given but kmodels.yaml no longer admits what the lock holds."""


class NotInstalledError(UsageError, LookupError):
    """A model name the project does not declare, or the environment does not hold."""


class ResolutionImpossible(KmenvError):
    """No set of model versions satisfies every constraint.

    ``causes`` holds each chain of reasons, one line each ("a requires b → ...").
    """

    exit_code = EXIT_NO_RESOLUTION

    def __init__(self, message: str, *, causes: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.causes = list(causes or [])

    def details(self) -> list[str]:
        return shown_lines(self.causes)


class PolicyViolation(KmenvError):
    """A locked or requested model's licence is not allowed by the project's policy."""

    exit_code = EXIT_POLICY


class RegistryError(KmenvError):
    """A registry could not answer (after retries) or answered nonsense."""

    exit_code = EXIT_REGISTRY


class RegistryDocumentError(RegistryError, ValueError):
    """A registry document (index, model instance, manifest) breaks its schema or its bounds.

    Bad input, like a bad kmodels.lock: exit 2 with the document and the place, not a network failure.
    """

    exit_code = EXIT_USAGE


class ModelNotFoundError(RegistryError, LookupError):
    """The registry has no such model instance, version or file.

    The registry answered, so this is no trouble with it: the name asked for is wrong (a typo, a
    version never published), which is the user's to fix, hence the usage exit code.
    """

    exit_code = EXIT_USAGE


class NetworkError(RegistryError, ConnectionError):
    """The network failed; ``message`` says what was tried."""


class IntegrityError(KmenvError):
    """Bytes did not match their recorded size or hash, or an environment is damaged."""

    exit_code = EXIT_INTEGRITY


class StorageError(KmenvError, OSError):
    """A write failed because a disk is full (``ENOSPC``, ``EDQUOT``), read-only (``EROFS``) or refuses us
    (``EACCES``, ``EPERM``); ``path`` is where, ``needed`` the bytes the write wanted (None when unknown).

    Whatever the write was replacing is left as it was (see :func:`kmenv.fs.failures.storage_error`).
    """

    exit_code = EXIT_STORAGE

    def __init__(
        self, message: str, *, path: str, errno: int, needed: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.errno = errno
        self.needed = needed


class Interrupted(KmenvError):
    """The user interrupted kmenv (Ctrl-C); what was complete stays complete."""

    exit_code = EXIT_INTERRUPTED
