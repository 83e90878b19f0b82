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
    └── Interrupted                             exit 130 Ctrl-C
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTEGRITY",
    "EXIT_INTERRUPTED",
    "EXIT_NO_RESOLUTION",
    "EXIT_OK",
    "EXIT_POLICY",
    "EXIT_REGISTRY",
    "EXIT_USAGE",
    "MAX_PROBLEMS_SHOWN",
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
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NO_RESOLUTION = 3
EXIT_POLICY = 4
EXIT_REGISTRY = 5
EXIT_INTEGRITY = 6
EXIT_INTERRUPTED = 130

#: How many located problems an error lists under its headline; the rest are counted, so a file with thousands
#: of problems prints a screenful, not megabytes.
MAX_PROBLEMS_SHOWN = 50


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
        """Further lines (one per problem) the CLI prints under the message."""
        return list(self._details)


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
        lines = [p.render() for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        if more > 0:
            lines.append(f"... and {more} more problem{'s' if more > 1 else ''} (fix these and run again to see them)")
        return lines


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
        return list(self.causes)


class PolicyViolation(KmenvError):
    """A locked or requested model's licence is not allowed by the project's policy."""

    exit_code = EXIT_POLICY


class RegistryError(KmenvError):
    """A registry could not answer (after retries) or answered nonsense."""

    exit_code = EXIT_REGISTRY


class RegistryDocumentError(RegistryError, ValueError):
    """A registry document (index or model instance) breaks its schema."""


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


class Interrupted(KmenvError):
    """The user interrupted kmenv (Ctrl-C); what was complete stays complete."""

    exit_code = EXIT_INTERRUPTED
