"""Error types that decide the exit code and the one-line message of ``mcuorch-tvmaot``."""

from __future__ import annotations


class TvmaotError(Exception):
    """Base class: ``str(err)`` is the one-line message, ``exit_code`` the process status."""

    exit_code = 1


class UserError(TvmaotError):
    """A problem with the inputs (missing file, invalid model, bad option): exit code 2."""

    exit_code = 2


class UnsupportedOperator(UserError):
    """The model uses an operator (or operator variant) this backend cannot compile."""

    def __init__(self, op: str, detail: str = "") -> None:
        self.op = op
        self.detail = detail
        super().__init__(f"unsupported operator {op}" + (f" ({detail})" if detail else ""))


class InternalError(TvmaotError):
    """TVM or this backend failed on a model it claims to support: exit code 1."""

    exit_code = 1
