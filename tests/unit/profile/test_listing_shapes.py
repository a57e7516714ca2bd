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
