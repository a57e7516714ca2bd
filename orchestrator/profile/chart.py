"""Bar chart of a profile's top layers (PNG and SVG), matplotlib's Agg backend like
orchestrator.report.charts, so it renders without a display."""

from __future__ import annotations

import io

from orchestrator.profile.summary import ProfileSummary
from orchestrator.profile.table import top_rows


def render_profile_chart(summary: ProfileSummary, title: str, fmt: str, top: int = 10) -> bytes:
    """Horizontal bars, the largest layer on top, labelled with instructions and share."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = top_rows(summary, top)[::-1]
    fig, ax = plt.subplots(figsize=(8.0, 1.0 + 0.4 * max(len(rows), 1)))
    labels = [f"{row.layer} ({row.op})" if row.op else row.layer for row in rows]
    bars = ax.barh(labels, [row.instructions for row in rows], color="tab:blue")
    ax.bar_label(bars, labels=[f"{row.instructions / 1e6:.3g} M, {row.share:.1f} %" for row in rows],
                 fontsize="x-small", padding=2)
    ax.margins(x=0.25)
    ax.set_xlabel("instructions per inference")
    fig.suptitle(title, fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buffer.getvalue()
