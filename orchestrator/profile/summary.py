"""A run's profile by layer: the plugin's invocations matched to the BUILD's kernel calls.

Instructions of a layer are summed over every inference (Run region entry); the per-inference
figure is that sum over the number of inferences, so layers + glue add up to the report's
`Run Instructions` (a mean per inference) exactly. Inference 0's own figures place the events
of the trace.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import CollectError
from orchestrator.profile.listing import KernelListing
from orchestrator.profile.segments import CountsProfile, EntryProfile, split_entry

SUMMARY_FORMAT = "mcuorch-profile-1"


class LayerProfile(BaseModel):
    """One executed kernel call (a layer) of the inference."""

    model_config = ConfigDict(frozen=True)
    index: int
    name: str
    kernel: str
    object: str | None = Field(default=None, description="source file of a file-local kernel")
    op: str | None
    macs: int | None
    input_shapes: list[list[int]]
    output_shape: list[int]
    instructions: int = Field(ge=0, description="summed over all inferences")
    callees: int = Field(ge=0, description="of which in functions the kernel called (summed)")
    first_start: int = Field(ge=0, description="inference 0: start, instructions since Run began")
    first_instructions: int = Field(ge=0, description="inference 0: instructions")
    live_bytes: int | None = None


class ProfileSummary(BaseModel):
    model_config = ConfigDict(frozen=True)
    format: str = SUMMARY_FORMAT
    inferences: int = Field(gt=0)
    run_instructions: int = Field(ge=0, description="Run region, summed over all inferences")
    glue: int = Field(ge=0, description="outside every kernel, summed over all inferences")
    first_run_instructions: int = Field(ge=0)
    first_glue: int = Field(ge=0)
    layers: list[LayerProfile]
    inlined: list[str] = Field(default_factory=list,
                               description="listed layers the compiler inlined into their caller (in glue)")

    def per_inference(self, value: int) -> float:
        return value / self.inferences

    def top(self) -> LayerProfile | None:
        return max(self.layers, key=lambda layer: layer.instructions, default=None)

    def columns(self) -> dict[str, str | float]:
        """Report columns `Top Kernel` and `Top Kernel Share [%]` (of Run Instructions)."""
        top = self.top()
        if top is None or not self.run_instructions:
            return {}
        share = round(100 * top.instructions / self.run_instructions, 2)
        return {"Top Kernel": top.name, "Top Kernel Share [%]": share}


def _match(entry: EntryProfile, listing: KernelListing, index: int) -> None:
    called = [inv.function for inv in entry.invocations]
    listed = [step.function for step in listing.steps]
    if called != listed:
        first = next((i for i, (a, b) in enumerate(zip(called, listed)) if a != b), min(len(called), len(listed)))
        raise CollectError(f"profile: inference {index} called {len(called)} kernels, the BUILD lists "
                           f"{len(listed)} (first difference at call {first})")


def summarize(profile: CountsProfile, per_entry: list[int], listing: KernelListing) -> ProfileSummary:
    """Layers of every inference; refuses a profile that does not add up or does not follow
    the BUILD's call order (a CollectError: the numbers would be wrong). Inlinable steps the
    runner did not profile (inlined away, no symbol) are left out and named."""
    if profile.truncated:
        raise CollectError("profile: the plugin ran out of segment memory (too many range changes)")
    names = [f.name for f in profile.functions]
    listing, inlined = listing.without_inlined(set(names))
    entries = [split_entry(segments, names) for segments in profile.entries]
    if not entries or len(entries) != len(per_entry):
        raise CollectError(f"profile: {len(entries)} profiled entries for {len(per_entry)} Run entries")
    for i, (entry, counted) in enumerate(zip(entries, per_entry)):
        if entry.total != counted:
            raise CollectError(f"profile: inference {i} has {entry.total} instructions, the Run region {counted}")
        _match(entry, listing, i)
    layers = []
    for k, step in enumerate(listing.steps):
        calls = [entry.invocations[k] for entry in entries]
        layers.append(LayerProfile(
            index=k, name=step.layer, kernel=step.kernel, object=step.object, op=step.op, macs=step.macs,
            input_shapes=listing.activation_shapes(step), output_shape=step.output_shape,
            instructions=sum(c.instructions for c in calls), callees=sum(c.callees for c in calls),
            first_start=calls[0].start, first_instructions=calls[0].instructions,
            live_bytes=listing.live_bytes(k)))
    return ProfileSummary(inferences=len(entries), run_instructions=sum(per_entry),
                          glue=sum(e.glue for e in entries), first_run_instructions=per_entry[0],
                          first_glue=entries[0].glue, layers=layers, inlined=inlined)


def load_summary(path: Path) -> ProfileSummary:
    try:
        return ProfileSummary.model_validate(json.loads(path.read_text()))
    except OSError as exc:
        raise CollectError(f"cannot read {path}: {exc.strerror}") from None
    except (ValidationError, ValueError) as exc:
        raise CollectError(f"{path} is not a profile summary: {str(exc).splitlines()[0]}") from None
