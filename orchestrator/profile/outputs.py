"""What `-f profile` adds to a RUN job's outputs: profile.json (the Chrome trace) and
profile_summary.json (every layer, all inferences; what `mcuorch profile` prints)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from orchestrator.errors import CollectError, first_problem
from orchestrator.metrics.counts import load_counts
from orchestrator.profile.listing import KernelListing
from orchestrator.profile.segments import CountsProfile
from orchestrator.profile.summary import ProfileSummary, summarize
from orchestrator.profile.trace import chrome_trace, trace_problems

TRACE_FILE = "profile.json"
SUMMARY_FILE = "profile_summary.json"


def read_counts_profile(counts: Path) -> CountsProfile:
    try:
        raw = json.loads(counts.read_text()).get("profile")
        if raw is None:
            raise CollectError(f"profile: {counts} has no profile (was the plugin given ranges?)")
        return CountsProfile.model_validate(raw)
    except ValidationError as exc:
        raise CollectError(f"profile: {counts}: {first_problem(exc)}") from None


def write_profile(counts: Path, listing: KernelListing, out: Path, title: str) -> ProfileSummary:
    """Both files in `out` from the plugin's counts and the BUILD's listing."""
    region = load_counts(counts).regions.get("run")
    if region is None or region.entries == 0:
        raise CollectError("profile: the Run region was never entered")
    summary = summarize(read_counts_profile(counts), region.per_entry, listing)
    trace = chrome_trace(summary, title)
    problems = trace_problems(trace)
    if problems:
        raise CollectError(f"profile: the trace is malformed: {problems[0]}")
    (out / TRACE_FILE).write_text(json.dumps(trace, indent=1) + "\n")
    (out / SUMMARY_FILE).write_text(summary.model_dump_json(indent=1) + "\n")
    return summary
