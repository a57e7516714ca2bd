"""The quantized model the builder produces: tensors, operators, inputs, outputs.

A plain description, independent of how it was made; `writer.serialize` turns it into a
`.tflite` flatbuffer. Tests and tools may also write one by hand (e.g. a float model).
The dependency goes one way: this module imports the writer, the writer names these classes
for type checkers only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .quant import QuantParams, dequantize, quantize
from .writer import serialize


@dataclass
class QTensor:
    """A tensor of the quantized model: constant when `data` is set."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # "int8" | "int32"
    quant: QuantParams | None = None
    data: np.ndarray | None = None


@dataclass
class QOperator:
    """An operator of the quantized model; `options` maps schema field names to values."""

    opcode: str
    inputs: list[int]
    outputs: list[int]
    options_type: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    version: int | None = None  # None: the converter's int8 version of the opcode


@dataclass
class QuantizedModel:
    """The full-int8 model, ready to serialize with `to_bytes()`."""

    name: str
    tensors: list[QTensor]
    operators: list[QOperator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""

    def to_bytes(self) -> bytes:
        """Serialize to a `.tflite` flatbuffer (deterministic for equal models)."""
        return serialize(self)

    def input_params(self, i: int) -> QuantParams:
        return self.tensors[self.inputs[i]].quant  # type: ignore[return-value]

    def output_params(self, i: int) -> QuantParams:
        return self.tensors[self.outputs[i]].quant  # type: ignore[return-value]

    def quantize_input(self, i: int, values: np.ndarray) -> np.ndarray:
        """Real input values -> the int8 array input `i` expects."""
        return quantize(values, self.input_params(i))

    def dequantize_output(self, i: int, values: np.ndarray) -> np.ndarray:
        """int8 output `i` -> real values."""
        return dequantize(values, self.output_params(i))

    def dequantize_input(self, i: int, values: np.ndarray) -> np.ndarray:
        """int8 input `i` -> the real values it stands for."""
        return dequantize(values, self.input_params(i))

