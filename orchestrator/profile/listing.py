"""The BUILD's kernel listing (tvmaot's memory_plan.json): which kernel calls an inference makes,
in order, with what each computes, and the arena tensors' lifetimes.

Only the fields a profile needs are read; a listing without layer names or MACs (an older BUILD)
still names events by kernel symbol.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import CollectError, first_problem


class ListedStep(BaseModel):
    """One kernel call: `kernel(*inputs, output)`."""

    model_config = ConfigDict(frozen=True)
    kernel: str
    inputs: list[str] = Field(default_factory=list)
    output: str = ""
    name: str | None = None
    op: str | None = None
    macs: int | None = Field(default=None, ge=0)
    input_shapes: list[list[int]] = Field(default_factory=list)
    output_shape: list[int] = Field(default_factory=list)

    @property
    def layer(self) -> str:
        return self.name or self.kernel


class ListedTensor(BaseModel):
    """An arena tensor; views share their root's bytes (they are not counted twice)."""

    model_config = ConfigDict(frozen=True)
    tensor: str
    view_of: str | None = None
    size: int = Field(ge=0)
    first_use: int
    last_use: int


class KernelListing(BaseModel):
    model_config = ConfigDict(frozen=True)
    steps: list[ListedStep]
    tensors: list[ListedTensor] = Field(default_factory=list)

    def functions(self) -> list[str]:
        """Kernel symbols in order of first call (layers of equal shape share one)."""
        return list(dict.fromkeys(step.kernel for step in self.steps))

    def live_bytes(self, step: int) -> int | None:
        """Arena bytes of the tensors alive during `step` (first use <= step <= last use), or
        None when the listing has no tensor lifetimes."""
        roots = [t for t in self.tensors if t.view_of is None]
        if not roots:
            return None
        return sum(t.size for t in roots if t.first_use <= step <= t.last_use)


def load_listing(path: Path) -> KernelListing:
    """The listing in `path`; a missing or malformed one is a CollectError (one line)."""
    try:
        return KernelListing.model_validate(json.loads(path.read_text()))
    except OSError as exc:
        raise CollectError(f"profile: cannot read the kernel listing {path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise CollectError(f"profile: {path}: {first_problem(exc)}") from None
    except ValueError as exc:
        raise CollectError(f"profile: {path} is not JSON: {exc}") from None
