"""The BUILD's kernel listing (tvmaot's memory_plan.json, tflmi's and tflmc's kernels.json):
which kernel calls an inference makes, in order, with what each computes, and (tvmaot) the arena
tensors' lifetimes.

A step's `object` names the source file whose file-local function `kernel` is (TFLite-Micro's
op `Eval` functions live in anonymous namespaces, one mangled name in many objects): the QEMU
runner then looks the symbol up among that object's locals only.

A step marked `inlinable` is a global function the compiler may have inlined into its only
caller (microTVM's small fused functions, called once from the AOT main): when the ELF has no
such symbol, the runner is not asked to count it, the summary leaves the step out (its
instructions are its caller's: glue) and `ProfileSummary.inlined` names it. Any other missing
kernel is an error.

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
    kernel: str = Field(min_length=1)
    object: str | None = Field(default=None, min_length=1)
    inputs: list[str] = Field(default_factory=list)
    output: str = ""
    name: str | None = None
    op: str | None = None
    macs: int | None = Field(default=None, ge=0)
    input_shapes: list[list[int]] = Field(default_factory=list)
    output_shape: list[int] = Field(default_factory=list)
    inlinable: bool = False

    @property
    def layer(self) -> str:
        return self.name or self.kernel

    @property
    def function(self) -> str:
        """How the runner's --profile-functions names it: `OBJECT:SYMBOL` for a local one."""
        return f"{self.object}:{self.kernel}" if self.object else self.kernel


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
    error: str | None = None
    """Why the BUILD could not list its kernel calls (tflmi/tflmc: an op whose invoke function it
    cannot name); such a listing profiles nothing."""

    def without_inlined(self, present: set[str]) -> tuple[KernelListing, list[str]]:
        """(the listing without the inlinable steps whose function is not among `present` (the
        ELF's function names, or the ones the runner profiled), the layer names of those left out)."""
        kept = [step for step in self.steps if not step.inlinable or step.function in present]
        if len(kept) == len(self.steps):
            return self, []
        gone = [step.layer for step in self.steps if step.inlinable and step.function not in present]
        return self.model_copy(update={"steps": kept}), gone

    def functions(self) -> list[str]:
        """Kernel functions in order of first call (layers of equal shape, or of one op type,
        share one), as the runner names them."""
        return list(dict.fromkeys(step.function for step in self.steps))

    def activation_shapes(self, step: ListedStep) -> list[list[int]]:
        """Shapes of the step's inputs that live in the arena: what a reader of a profile calls
        the layer's inputs. Weights, biases and requantization constants are kernel arguments
        too (flattened, reordered), but no layer input; without tensor lifetimes all are kept."""
        arena = {t.tensor for t in self.tensors}
        if not arena or len(step.inputs) != len(step.input_shapes):
            return step.input_shapes
        return [shape for name, shape in zip(step.inputs, step.input_shapes) if name in arena]

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
        listing = KernelListing.model_validate(json.loads(path.read_text()))
    except OSError as exc:
        raise CollectError(f"profile: cannot read the kernel listing {path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise CollectError(f"profile: {path}: {first_problem(exc)}") from None
    except ValueError as exc:
        raise CollectError(f"profile: {path} is not JSON: {exc}") from None
    if listing.error:
        raise CollectError(f"profile: the BUILD {listing.error}")
    return listing
