"""Names and codes of the TFLite flatbuffer schema, taken from the pinned `tflite` package.

Kept in one place so the writer, the reader and the analysis agree on spellings
(`CONV_2D`, `int8`) and on the operator versions the TFLite converter assigns.
"""

from __future__ import annotations

import numpy as np
import tflite

#: Upper bound of `OperatorCode.deprecated_builtin_code` (an int8 field in the schema).
PLACEHOLDER_FOR_GREATER_OP_CODES: int = tflite.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES


def _enum_names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


#: BuiltinOperator code -> name, e.g. 3 -> "CONV_2D".
OPERATOR_NAMES: dict[int, str] = _enum_names(tflite.BuiltinOperator)
#: BuiltinOperator name -> code.
OPERATOR_CODES: dict[str, int] = {name: code for code, name in OPERATOR_NAMES.items()}

#: TensorType code -> the lower-case name used in model.json ("int8", "float32", ...).
TENSOR_TYPE_NAMES: dict[int, str] = {
    code: name.lower() for code, name in _enum_names(tflite.TensorType).items()
}

#: TensorType code -> numpy dtype, for the types whose bytes numpy can hold.
NUMPY_DTYPES: dict[int, np.dtype] = {
    tflite.TensorType.FLOAT32: np.dtype("<f4"),
    tflite.TensorType.FLOAT16: np.dtype("<f2"),
    tflite.TensorType.FLOAT64: np.dtype("<f8"),
    tflite.TensorType.INT8: np.dtype("i1"),
    tflite.TensorType.UINT8: np.dtype("u1"),
    tflite.TensorType.INT16: np.dtype("<i2"),
    tflite.TensorType.UINT16: np.dtype("<u2"),
    tflite.TensorType.INT32: np.dtype("<i4"),
    tflite.TensorType.UINT32: np.dtype("<u4"),
    tflite.TensorType.INT64: np.dtype("<i8"),
    tflite.TensorType.UINT64: np.dtype("<u8"),
    tflite.TensorType.BOOL: np.dtype("?"),
    tflite.TensorType.COMPLEX64: np.dtype("<c8"),
    tflite.TensorType.COMPLEX128: np.dtype("<c16"),
}

#: Versions the TFLite converter gives full-int8 operators (tensorflow/lite/tools/versioning).
INT8_OPERATOR_VERSIONS: dict[str, int] = {
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 3,
    "FULLY_CONNECTED": 4,
    "AVERAGE_POOL_2D": 2,
    "MAX_POOL_2D": 2,
    "ADD": 2,
    "SOFTMAX": 2,
    "RESHAPE": 1,
    "PAD": 2,
    "MEAN": 2,
}


def operator_code(name: str) -> int:
    """Builtin code of an operator name; raises KeyError for unknown names."""
    return OPERATOR_CODES[name]
