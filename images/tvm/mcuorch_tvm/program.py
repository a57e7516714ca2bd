"""The AOT program as plain data: tensors and kernel steps (no TVM needed to use it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .planner import BufferLife


@dataclass
class Tensor:
    """One tensor of the AOT program. ``view_of`` names the tensor whose bytes it reuses."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    kind: str  # "input" | "intermediate" | "constant" | "view"
    data: np.ndarray | None = None
    view_of: str | None = None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass
class Step:
    """One kernel call: ``kernel(*inputs, output)``."""

    kernel: str
    inputs: list[str]
    output: str


@dataclass
class Graph:
    """Tensors by name, steps in call order, graph inputs/outputs in TFLite order."""

    tensors: dict[str, Tensor] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def root(self, name: str) -> str:
        """The tensor that owns the storage of ``name`` (following views)."""
        while self.tensors[name].view_of is not None:
            name = self.tensors[name].view_of
        return name

    def lifetimes(self) -> list[BufferLife]:
        """Storage requests for the arena: one per storage root (views share their root's).

        Constants live in flash and are not part of the arena.
        """
        n = len(self.steps)
        first: dict[str, int] = {}
        last: dict[str, int] = {}

        def touch(name: str, step: int) -> None:
            root = self.root(name)
            first[root] = min(first.get(root, step), step)
            last[root] = max(last.get(root, step), step)

        for name in self.inputs:
            touch(name, -1)
        for index, step in enumerate(self.steps):
            for name in step.inputs:
                touch(name, index)
            touch(step.output, index)
        for name in self.outputs:
            touch(name, n)
        return [
            BufferLife(root, self.tensors[root].nbytes, first[root], last[root])
            for root in sorted(first, key=lambda r: (first[r], r))
            if self.tensors[root].kind != "constant"
        ]
