from __future__ import annotations

from orchestrator.profile.listing import KernelListing


def _listing(tensors: list[str]) -> KernelListing:
    step = {"kernel": "k", "inputs": ["input0", "const0", "t0", "const1"], "output": "t1",
            "input_shapes": [[1, 49, 10, 1], [2560], [1, 25, 5, 64], [64]], "output_shape": [1, 25, 5, 64]}
    return KernelListing.model_validate({
        "steps": [step],
        "tensors": [{"tensor": name, "size": 1, "first_use": 0, "last_use": 0} for name in tensors]})


def test_layer_inputs_are_the_arena_tensors_not_the_constants() -> None:
    listing = _listing(["input0", "t0", "t1"])
    assert listing.activation_shapes(listing.steps[0]) == [[1, 49, 10, 1], [1, 25, 5, 64]]


def test_without_tensor_lifetimes_every_input_is_kept() -> None:
    listing = _listing([])
    assert len(listing.activation_shapes(listing.steps[0])) == 4


def test_inlined_steps_leave_the_profile_and_are_named() -> None:
    """microTVM's small fused functions may be inlined into the AOT main: with no symbol in the
    ELF they are left out (their instructions are the caller's); a kernel that is not inlinable
    stays and is reported missing by the runner."""
    listing = KernelListing.model_validate({"steps": [
        {"kernel": "f_cast", "name": "fused_cast", "inlinable": True},
        {"kernel": "f_conv", "name": "fused_conv", "inlinable": True},
        {"kernel": "f_cast", "name": "fused_cast#2", "inlinable": True},
        {"kernel": "f_fixed", "name": "fixed"}]})
    kept, inlined = listing.without_inlined({"f_conv"})
    assert [s.layer for s in kept.steps] == ["fused_conv", "fixed"] and inlined == ["fused_cast", "fused_cast#2"]
    same, none = listing.without_inlined({"f_cast", "f_conv"})
    assert same is listing and none == []
