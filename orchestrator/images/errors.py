"""Errors raised while rendering, building or bootstrapping images (one line each)."""

from __future__ import annotations

from orchestrator.errors import McuorchError, UserError


class RecipeError(UserError):
    """A recipe that cannot be rendered: missing template, unpinned package, unknown image."""


class ImageBuildError(McuorchError):
    """A Docker build that failed; the message names the step and the full log file."""


class BootstrapError(McuorchError):
    """The root OS image could neither be pulled nor made with debootstrap."""
