"""Exception types. The CLI maps them to one-line messages and exit codes.

A `UserError` is something the user can fix (a name, a value, a file): it prints one line and
exits 2 without a traceback. Errors raised while a job runs carry the run and stage they
came from so reports and messages can say where things went wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class McuorchError(Exception):
    """Base class of every error mcuorch raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, run: int | None = None, stage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.run = run
        self.stage = stage

    def __str__(self) -> str:
        where = []
        if self.run is not None:
            where.append(f"run {self.run}")
        if self.stage is not None:
            where.append(self.stage)
        return f"{self.message} ({', '.join(where)})" if where else self.message


class UserError(McuorchError):
    """A mistake in what the user asked for: one line, exit code 2, no traceback."""

    exit_code = 2


class EnvironmentFileError(UserError):
    """An environment template that does not render or does not validate."""


class ConfigError(UserError):
    """An unknown component name, config key or an invalid config value."""


class ModelNotFoundError(UserError):
    """A model that is neither a bundled name nor an existing `.tflite` file."""


class SessionNotFoundError(UserError):
    """A session id (or 'latest') that does not exist in the store."""


class JobError(McuorchError):
    """A stage job that could not run or whose outputs could not be collected."""


class CollectError(JobError):
    """A finished job whose outputs say the run failed (e.g. the program's exit code)."""


class ImageMissingError(JobError):
    """An image that existed when the session started is gone (removed by hand or a prune)."""

    def __init__(self, tag: str) -> None:
        super().__init__(f"image {tag} is missing (removed during the session?); run the command again, "
                         "missing images are rebuilt")
        self.tag = tag


class RuntimeUnavailableError(UserError):
    """The selected runtime cannot be used here (e.g. no Docker engine reachable)."""


class EngineLostError(McuorchError):
    """The Docker engine stopped answering mid-session (daemon stopped, socket gone): the
    session stops starting jobs, keeps what finished and exits 3, so scripts can tell "come
    back and resume" from a failing run (1) or a user mistake (2)."""

    exit_code = 3

    def __init__(self, address: str, message: str | None = None) -> None:
        super().__init__(message or f"lost the Docker engine at {address}")
        self.address = address


class Cancelled(McuorchError):
    """The session was interrupted (Ctrl+C / SIGTERM): partial results, exit 130."""

    exit_code = 130


DISK_FULL_ERRNOS = frozenset({28, 122})  # ENOSPC, EDQUOT


def disk_full_message(exc: OSError) -> str | None:
    """One actionable line for a full disk or quota, or None for any other OSError."""
    if exc.errno not in DISK_FULL_ERRNOS:
        return None
    where = f" writing {exc.filename}" if exc.filename else ""
    return (f"no space left on device{where}: free disk space (mcuorch cleanup, mcuorch images prune) "
            "or point MCUORCH_HOME at a larger file system")


def first_problem(exc: ValidationError) -> str:
    """`field.path: message` of a validation error's first problem: the one line a file error shows."""
    first = exc.errors()[0]
    return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
