"""Errors of the source cache: each one line a user can act on."""

from __future__ import annotations

from orchestrator.errors import UserError


class SourceError(UserError):
    """A source that cannot be fetched, imported or verified."""


class SourceMissingError(SourceError):
    """An image needs a source that is not in the cache."""
