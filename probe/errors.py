"""Errors a user can act on, and the exit codes probe documents."""

from __future__ import annotations

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ProbeError(Exception):
    """An error with a one-line, actionable message; never shown with a traceback."""

    exit_code = EXIT_SOME_FAILED
    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_record(self) -> dict[str, str]:
        return {"type": self.kind, "message": self.message}


class UsageError(ProbeError):
    exit_code = EXIT_USAGE
    kind = "usage"


class InputError(ProbeError):
    """An input that cannot be read: missing, empty, corrupt, unsupported, not UTF-8, too large."""

    kind = "input"


class ProviderError(ProbeError):
    """A model call that failed after any retries it was allowed."""

    kind = "provider"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status a server answered with, if it answered
        self.deployment: str | None = None  # which of several deployments failed (Router road)
