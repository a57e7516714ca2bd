"""The per-layer table of a profile: what `mcuorch profile` prints and charts.

Instructions are per inference (the mean over the run's inferences, like `Run Instructions`),
share is of the Run region, so the layers' shares plus glue's make 100 %.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from orchestrator.profile.summary import ProfileSummary

GLUE_ROW = "(glue)"


class ProfileRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    layer: str
    op: str
    macs: int | None
    instructions: float
    per_mac: float | None
    share: float


def profile_rows(summary: ProfileSummary) -> list[ProfileRow]:
    """One row per executed layer in call order, then glue (harness, calls between kernels)."""
    total = summary.run_instructions or 1
    rows = []
    for layer in summary.layers:
        mean = summary.per_inference(layer.instructions)
        rows.append(ProfileRow(layer=layer.name, op=layer.op or "", macs=layer.macs, instructions=mean,
                               per_mac=mean / layer.macs if layer.macs else None,
                               share=100 * layer.instructions / total))
    rows.append(ProfileRow(layer=GLUE_ROW, op="", macs=None, instructions=summary.per_inference(summary.glue),
                           per_mac=None, share=100 * summary.glue / total))
    return rows


def top_rows(summary: ProfileSummary, count: int) -> list[ProfileRow]:
    """The `count` layers with the most instructions, most first (glue excluded)."""
    layers = [row for row in profile_rows(summary) if row.layer != GLUE_ROW]
    return sorted(layers, key=lambda row: -row.instructions)[:count]


def instructions_text(value: float) -> str:
    """Whole numbers as they are; a mean that is not whole keeps two decimals."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
