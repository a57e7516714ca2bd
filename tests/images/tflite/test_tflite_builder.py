"""Round trips of the model builder: build in float, quantize, run on TFLite-Micro and LiteRT,
compare with float references."""

from __future__ import annotations

import pytest

pytest.importorskip("tflite_micro", reason="needs the tflite image's Python packages (images/tflite/requirements.txt)")

from collections.abc import Callable

import numpy as np
import tflite
from mcuorch_tflite.builder import BuilderError, GraphBuilder, Tensor
from mcuorch_tflite.reader import parse_model
from tflite_testlib import lsb_error, quantized_weight_graph, run_both

Build = Callable[[GraphBuilder, list[Tensor], np.random.Generator], list[Tensor]]


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[1:])), size=shape)


# id -> (input shapes, graph body, allowed LSB error against the quantized-weight reference)
CASES: dict[str, tuple[list[tuple[int, ...]], Build, float]] = {
    "conv_same_relu": ([(1, 9, 9, 3)], lambda g, x, r: [g.conv2d(x[0], _w(r, 8, 3, 3, 3), r.normal(size=8),
                                                                   padding="SAME", activation="RELU")], 1.0),
    "conv_valid_stride2": ([(1, 10, 9, 4)], lambda g, x, r: [g.conv2d(x[0], _w(r, 5, 3, 2, 4), r.normal(size=5),
                                                                       stride=2, padding="VALID")], 1.0),
    "conv_same_stride2_relu6": ([(1, 8, 8, 2)], lambda g, x, r: [g.conv2d(x[0], _w(r, 6, 5, 5, 2), None, stride=(2, 1),
                                                                            padding="SAME", activation="RELU6")], 1.0),
    "conv_dilation2": ([(1, 12, 12, 3)], lambda g, x, r: [g.conv2d(x[0], _w(r, 4, 3, 3, 3), r.normal(size=4),
                                                                    dilation=2, padding="SAME")], 1.0),
    "depthwise_same_relu": ([(1, 9, 9, 6)], lambda g, x, r: [g.depthwise_conv2d(x[0], _w(r, 1, 3, 3, 6),
                                                                                 r.normal(size=6), activation="RELU")], 1.0),
    "depthwise_valid_stride2": ([(1, 11, 11, 4)], lambda g, x, r: [g.depthwise_conv2d(
        x[0], _w(r, 1, 3, 3, 4), r.normal(size=4), stride=2, padding="VALID")], 1.0),
    "depthwise_multiplier2_relu6": ([(1, 7, 7, 3)], lambda g, x, r: [g.depthwise_conv2d(
        x[0], _w(r, 1, 3, 3, 6), r.normal(size=6), depth_multiplier=2, activation="RELU6")], 1.0),
    "fully_connected": ([(1, 20)], lambda g, x, r: [g.fully_connected(x[0], _w(r, 7, 20), r.normal(size=7))], 1.0),
    "fully_connected_relu_nobias": ([(1, 16)], lambda g, x, r: [g.fully_connected(x[0], _w(r, 9, 16), None,
                                                                                   activation="RELU")], 1.0),
    "fully_connected_keep_dims": ([(1, 3, 8)], lambda g, x, r: [g.fully_connected(x[0], _w(r, 5, 8), r.normal(size=5),
                                                                                   keep_num_dims=True)], 1.0),
    "average_pool_valid": ([(1, 8, 8, 3)], lambda g, x, r: [g.average_pool2d(x[0], 2)], 1.0),
    "average_pool_same_stride1": ([(1, 7, 7, 2)], lambda g, x, r: [g.average_pool2d(x[0], 3, stride=1,
                                                                                     padding="SAME")], 1.0),
    "max_pool_valid": ([(1, 8, 8, 3)], lambda g, x, r: [g.max_pool2d(x[0], (2, 2))], 0.0),
    "max_pool_same_stride2_relu": ([(1, 9, 9, 2)], lambda g, x, r: [g.max_pool2d(x[0], 3, stride=2, padding="SAME",
                                                                                  activation="RELU")], 0.0),
    "add": ([(1, 5, 5, 4), (1, 5, 5, 4)], lambda g, x, r: [g.add(x[0], x[1])], 1.0),
    "add_relu_broadcast": ([(1, 5, 5, 4), (1, 1, 1, 4)], lambda g, x, r: [g.add(x[0], x[1], activation="RELU")], 1.0),
    "softmax": ([(1, 10)], lambda g, x, r: [g.softmax(x[0])], 2.0),
    "reshape": ([(1, 4, 4, 2)], lambda g, x, r: [g.reshape(x[0], (1, -1))], 0.0),
    "pad": ([(1, 4, 5, 3)], lambda g, x, r: [g.pad(x[0], ((0, 0), (1, 2), (2, 0), (0, 0)))], 0.0),
    "mean_keep_dims": ([(1, 6, 6, 5)], lambda g, x, r: [g.mean(x[0], (1, 2))], 1.0),
    "mean_drop_dims": ([(1, 6, 4, 5)], lambda g, x, r: [g.mean(x[0], (1, 2), keep_dims=False)], 1.0),
    "multi_input_multi_output": ([(1, 6, 6, 3), (1, 6, 6, 3)], lambda g, x, r: [
        g.conv2d(g.add(x[0], x[1], activation="RELU"), _w(r, 4, 1, 1, 3), r.normal(size=4)),
        g.max_pool2d(x[1], 2)], 1.0),
}


def _build(case: str, seed: int = 0):
    shapes, body, tolerance = CASES[case]
    rng = np.random.default_rng(seed)
    g = GraphBuilder(case)
    inputs = [g.input(f"in{i}", s) for i, s in enumerate(shapes)]
    for k, out in enumerate(body(g, inputs, rng)):
        g.output(out, name=f"out{k}")
    graph = g.build()
    samples = [rng.normal(0.0, 1.0, size=(64,) + s[1:]) for s in shapes]
    model = graph.convert(samples)
    test_inputs = [rng.normal(0.0, 1.0, size=s) for s in shapes]
    return graph, model, test_inputs, tolerance


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_round_trip(case: str) -> None:
    graph, model, inputs, tolerance = _build(case)
    q_in, tflm, litert = run_both(model, inputs)
    deq_in = [model.dequantize_input(i, q) for i, q in enumerate(q_in)]
    exact = quantized_weight_graph(graph, model).run(deq_in)
    plain = graph.run(deq_in)
    for k, (t_out, l_out) in enumerate(zip(tflm, litert)):
        assert t_out.dtype == np.int8 and t_out.shape == graph.tensors[graph.outputs[k]].shape
        # Only activation rounding separates int8 from the quantized-weight reference ...
        assert lsb_error(model, k, t_out, exact[k]) <= tolerance + 0.01
        # ... and weight quantization adds a little more against the float model.
        assert lsb_error(model, k, t_out, plain[k]) <= tolerance + 3.0
        # The two interpreters implement the same arithmetic up to rounding.
        assert np.max(np.abs(t_out.astype(int) - l_out.astype(int))) <= 1
    # The test must not be vacuous: outputs use a fair part of the int8 range.
    assert any(np.ptp(o.astype(int)) >= 8 for o in tflm) or case.startswith("softmax")


def test_softmax_and_pool_quantization_follow_converter_rules() -> None:
    rng = np.random.default_rng(3)
    g = GraphBuilder("rules")
    x = g.input("x", (1, 6, 6, 2))
    c = g.conv2d(x, _w(rng, 4, 3, 3, 2), rng.normal(size=4), activation="RELU")
    p = g.average_pool2d(c, 2)
    m = g.max_pool2d(c, 2)
    r = g.reshape(p, (1, -1))
    s = g.softmax(g.fully_connected(r, _w(rng, 3, 36), None))
    for t in (m, s):
        g.output(t)
    graph = g.build()
    model = graph.convert([rng.normal(size=(32, 6, 6, 2))])
    by_name = {t.name: t for t in model.tensors}
    conv_q = by_name[c.name].quant
    assert by_name[p.name].quant == conv_q and by_name[m.name].quant == conv_q and by_name[r.name].quant == conv_q
    assert conv_q.zero_point == (-128,)  # ReLU output: range starts at 0
    assert by_name[s.name].quant.scale == (1 / 256,) and by_name[s.name].quant.zero_point == (-128,)
    filt = by_name[f"{c.name}/filter"]
    assert filt.dtype == "int8" and len(filt.quant.scale) == 4 and filt.quant.quantized_dimension == 0
    assert np.all(np.abs(filt.data) <= 127) and np.all(np.max(np.abs(filt.data), axis=(1, 2, 3)) == 127)
    bias = by_name[f"{c.name}/bias"]
    in_scale = np.float32(model.tensors[model.inputs[0]].quant.scale[0])
    assert bias.dtype == "int32"
    assert np.allclose(bias.quant.scale, in_scale * filt.quant.scale_array(), rtol=1e-6)
    fc = next(t for t in model.tensors if t.name.endswith("/weights"))
    assert len(fc.quant.scale) == 1  # fully connected: per tensor


def test_serialized_model_is_valid_and_deterministic() -> None:
    _, model, _, _ = _build("multi_input_multi_output")
    data = model.to_bytes()
    assert data == _build("multi_input_multi_output")[1].to_bytes()
    assert data[4:8] == b"TFL3"
    fb = tflite.Model.GetRootAsModel(data, 0)
    assert fb.Version() == 3
    for k in range(fb.OperatorCodesLength()):
        oc = fb.OperatorCodes(k)
        assert oc.BuiltinCode() == oc.DeprecatedBuiltinCode() and oc.Version() >= 1
    for k in range(fb.BuffersLength()):
        buf = fb.Buffers(k)
        if buf.DataLength():
            assert buf.DataAsNumpy().ctypes.data % 16 == np.frombuffer(data, np.uint8).ctypes.data % 16
    info = parse_model(data)
    assert [t.name for t in info.input_tensors()] == ["in0", "in1"]
    assert [t.name for t in info.output_tensors()] == ["out0", "out1"]
    assert all(t.dtype == "int8" for t in info.input_tensors() + info.output_tensors())


def test_multi_layer_network_tracks_float_model() -> None:
    """A small CNN (conv, depthwise, pool, FC, softmax) stays close to its float model."""
    rng = np.random.default_rng(7)
    g = GraphBuilder("cnn")
    x = g.input("x", (1, 12, 12, 3))
    h = g.conv2d(x, _w(rng, 8, 3, 3, 3), 0.1 * rng.normal(size=8), stride=2, activation="RELU")
    h = g.depthwise_conv2d(h, _w(rng, 1, 3, 3, 8), 0.1 * rng.normal(size=8), activation="RELU6")
    h = g.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
    h = g.average_pool2d(h, 4)
    h = g.reshape(h, (1, -1))
    g.output(g.softmax(g.fully_connected(h, 3 * _w(rng, 5, h.shape[1]), None)))
    graph = g.build()
    model = graph.convert([rng.normal(size=(64, 12, 12, 3))])
    for seed in range(3):
        inp = [np.random.default_rng(100 + seed).normal(size=(1, 12, 12, 3))]
        q_in, tflm, litert = run_both(model, inp)
        ref = graph.run([model.dequantize_input(0, q_in[0])])[0]
        assert lsb_error(model, 0, tflm[0], ref) <= 6.0
        assert np.max(np.abs(tflm[0].astype(int) - litert[0].astype(int))) <= 1


@pytest.mark.parametrize("make, message", [
    (lambda g, x: g.conv2d(x, np.zeros((4, 3, 3, 2)), None), "OHWI"),
    (lambda g, x: g.conv2d(x, np.zeros((4, 3, 3, 3)), np.zeros(5)), "bias"),
    (lambda g, x: g.conv2d(x, np.zeros((4, 3, 3, 3)), None, padding="FULL"), "padding"),
    (lambda g, x: g.depthwise_conv2d(x, np.zeros((1, 3, 3, 4)), None), "1HW"),
    (lambda g, x: g.fully_connected(x, np.zeros((2, 3)), None), "one row"),
    (lambda g, x: g.reshape(x, (2, -1)), "batch"),
    (lambda g, x: g.reshape(x, (1, 7)), "cannot reshape"),
    (lambda g, x: g.mean(x, (0,)), "batch"),
    (lambda g, x: g.add(x, g.input("y", (1, 2, 8, 3))), "broadcast"),
    (lambda g, x: g.conv2d(x, np.zeros((4, 3, 3, 3)), None, activation="TANH"), "activation"),
])
def test_builder_rejects_bad_descriptions(make, message: str) -> None:
    g = GraphBuilder("bad")
    x = g.input("x", (1, 8, 8, 3))
    with pytest.raises(BuilderError, match=message):
        make(g, x)


def test_builder_requires_io_and_unique_names() -> None:
    g = GraphBuilder("io")
    x = g.input("x", (1, 4))
    with pytest.raises(BuilderError, match="output"):
        g.build()
    with pytest.raises(BuilderError, match="used twice"):
        g.fully_connected(x, np.ones((2, 4)), name="x")
    with pytest.raises(BuilderError, match="batch dimension 1"):
        g.input("z", (2, 4))
