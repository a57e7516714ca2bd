"""The plugin's profile (counts.json `profile`) and how its segments become kernel invocations.

The plugin cuts the profiled region's instructions into segments at every change of PC range:
(function ID or -1 for glue, entered at the function's first instruction?, instructions). A
kernel invocation starts with a segment entered at its entry; glue between two segments of the
same invocation (the kernel called memset, memcpy or a libgcc helper, which returned into it)
counts as that kernel's callees; any other glue (the harness, the calls between kernels) stays
glue. So invocations + glue == the region's instructions, exactly, for every entry.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

GLUE = -1


class ProfiledFunction(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    ranges: list[tuple[str, str]]


class CountsProfile(BaseModel):
    """counts.json `profile`: segments of every entry of `region`, exact totals per function."""

    model_config = ConfigDict(frozen=True)
    region: str
    truncated: bool
    glue: int = Field(ge=0)
    totals: list[int]
    entries: list[list[tuple[int, int, int]]]
    functions: list[ProfiledFunction]


class Invocation(BaseModel):
    """One call of a kernel function: where it started (instructions since the region's
    entry) and its own and its callees' instructions."""

    model_config = ConfigDict(frozen=True)
    function: str
    start: int = Field(ge=0)
    own: int = Field(ge=0)
    callees: int = Field(ge=0)

    @property
    def instructions(self) -> int:
        return self.own + self.callees


class EntryProfile(BaseModel):
    """One entry of the region (one inference): kernel invocations in order, and glue."""

    model_config = ConfigDict(frozen=True)
    invocations: list[Invocation]
    glue: int = Field(ge=0)
    total: int = Field(ge=0)


def split_entry(segments: list[tuple[int, int, int]], names: list[str]) -> EntryProfile:
    """Invocations and glue of one region entry (see the module docstring)."""
    found: list[dict[str, int | str]] = []
    glue = pending = position = 0
    for function, at_entry, count in segments:
        if function == GLUE:
            pending += count
        else:
            current = found[-1] if found else None
            if at_entry or current is None or current["id"] != function:
                glue += pending
                current = {"id": function, "start": position, "own": 0, "callees": 0}
                found.append(current)
            else:
                current["callees"] = int(current["callees"]) + pending
            pending = 0
            current["own"] = int(current["own"]) + count
        position += count
    glue += pending
    invocations = [Invocation(function=names[int(f["id"])], start=int(f["start"]), own=int(f["own"]),
                              callees=int(f["callees"])) for f in found]
    return EntryProfile(invocations=invocations, glue=glue, total=position)
