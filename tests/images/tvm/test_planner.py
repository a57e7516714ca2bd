"""Unit tests of the arena planner and of the lifetime rules (pure Python, no TVM)."""

from __future__ import annotations

import random

import pytest
from mcuorch_tvm.planner import (
    STRATEGIES,
    ArenaPlan,
    BufferLife,
    Placement,
    check_plan,
    peak_live_bytes,
    plan_arena,
)


def chain(sizes: list[int]) -> list[BufferLife]:
    """Buffer i is written at step i-1 and read at step i (a plain layer chain)."""
    return [BufferLife(f"b{i}", s, i - 1, i) for i, s in enumerate(sizes)]


def test_chain_needs_only_the_largest_neighbouring_pair():
    plan = plan_arena(chain([490, 8000, 8000, 8000, 64, 12]), alignment=16)
    check_plan(plan)
    assert plan.size == 16000
    assert plan.size == peak_live_bytes(chain([490, 8000, 8000, 8000, 64, 12]))


def test_disjoint_lifetimes_share_bytes():
    plan = plan_arena([BufferLife("a", 100, 0, 1), BufferLife("b", 100, 2, 3)], alignment=4)
    assert plan.offset_of("a") == plan.offset_of("b") == 0
    assert plan.size == 100


def test_touching_lifetimes_do_not_share():
    """Producer output and consumer input are live at the same step: a kernel is not in-place."""
    plan = plan_arena([BufferLife("a", 64, 0, 1), BufferLife("b", 64, 1, 2)], alignment=16)
    assert {plan.offset_of("a"), plan.offset_of("b")} == {0, 64}


def test_offsets_respect_alignment_and_size_is_rounded():
    bufs = [BufferLife("a", 3, 0, 2), BufferLife("b", 5, 0, 2), BufferLife("c", 7, 1, 2)]
    plan = plan_arena(bufs, alignment=16)
    check_plan(plan)
    assert all(p.offset % 16 == 0 for p in plan.placements)
    assert plan.size % 16 == 0
    assert plan.size == 48


def test_best_strategy_beats_size_first_on_a_large_input():
    """Input larger than the following activations: largest-first wastes 17 %."""
    bufs = [
        BufferLife("input", 27648, -1, 0),
        BufferLife("t0", 18432, 0, 1),
        BufferLife("t1", 18432, 1, 2),
        BufferLife("t2", 36864, 2, 3),
        BufferLife("t3", 9216, 3, 4),
    ]
    size_only = plan_arena(bufs, strategies=("size",))
    best = plan_arena(bufs)
    check_plan(best)
    assert size_only.size == 64512
    assert best.size == peak_live_bytes(bufs) == 55296
    assert best.strategy == "first_use"


def test_random_plans_are_valid_deterministic_and_bounded():
    rng = random.Random(7)
    for _ in range(200):
        bufs = []
        for i in range(rng.randint(1, 14)):
            first = rng.randint(-1, 10)
            bufs.append(BufferLife(f"b{i}", rng.randint(0, 5000), first, first + rng.randint(0, 4)))
        plan = plan_arena(bufs, alignment=rng.choice([1, 4, 16]))
        check_plan(plan)
        assert plan.size >= peak_live_bytes(bufs)
        assert plan == plan_arena(list(bufs), alignment=plan.alignment)
        assert [p.name for p in plan.placements] == [b.name for b in bufs]


def test_each_strategy_alone_is_valid():
    bufs = chain([100, 300, 200, 50, 400])
    for name in STRATEGIES:
        check_plan(plan_arena(bufs, strategies=(name,)))


@pytest.mark.parametrize(
    "bufs, alignment",
    [
        ([BufferLife("a", 1, 0, 0)], 3),
        ([BufferLife("a", 1, 0, 0), BufferLife("a", 1, 1, 1)], 16),
        ([BufferLife("a", 1, 2, 1)], 16),
        ([BufferLife("a", -1, 0, 0)], 16),
    ],
)
def test_invalid_requests_are_rejected(bufs, alignment):
    with pytest.raises(ValueError):
        plan_arena(bufs, alignment=alignment)


def test_check_plan_detects_overlap():
    bad = ArenaPlan(
        placements=(Placement("a", 32, 0, 2, 0), Placement("b", 32, 1, 3, 16)),
        size=48,
        alignment=16,
    )
    with pytest.raises(ValueError, match="overlap"):
        check_plan(bad)


def test_plan_json_lists_every_buffer():
    plan = plan_arena(chain([10, 20, 30]))
    doc = plan.to_json()
    assert doc["arena_size"] == plan.size
    assert [b["name"] for b in doc["buffers"]] == ["b0", "b1", "b2"]
    assert doc["lower_bound"] == 50


class TestGraphLifetimes:
    """Rules tying the AOT harness to the planner (mcuorch_tvm.program)."""

    @pytest.fixture
    def graph(self):
        pytest.importorskip("numpy")
        from mcuorch_tvm.program import Graph, Step, Tensor

        g = Graph()
        g.tensors["input0"] = Tensor("input0", (1, 10), "int8", "input")
        g.tensors["c0"] = Tensor("c0", (10, 10), "int8", "constant")
        for name in ("t0", "t1", "t2"):
            g.tensors[name] = Tensor(name, (1, 10), "int8", "intermediate")
        g.tensors["view0"] = Tensor("view0", (10,), "int8", "view", view_of="t2")
        g.steps = [
            Step("k0", ["input0", "c0"], "t0"),
            Step("k1", ["t0"], "t1"),
            Step("k2", ["t1"], "t2"),
        ]
        g.inputs = ["input0"]
        g.outputs = ["t1", "view0"]
        return g

    def test_rules(self, graph):
        lives = {b.name: b for b in graph.lifetimes()}
        assert "c0" not in lives  # constants stay in flash
        assert (lives["input0"].first, lives["input0"].last) == (-1, 0)
        assert (lives["t0"].first, lives["t0"].last) == (0, 1)
        # outputs stay live after invoke, even t1 which a later kernel only reads
        assert (lives["t1"].first, lives["t1"].last) == (1, 3)
        assert (lives["t2"].first, lives["t2"].last) == (2, 3)  # through its view
        assert "view0" not in lives

    def test_outputs_never_overwritten(self, graph):
        plan = plan_arena(graph.lifetimes(), alignment=16)
        check_plan(plan)
        assert plan.offset_of("t1") != plan.offset_of("t2")
        assert plan.size == 32  # two 16-byte slots: input0/t1 and t0/t2 share
