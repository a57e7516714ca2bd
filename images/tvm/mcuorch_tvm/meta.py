"""The LOAD stage's ``model.json``: parsed, validated, and checked against the model itself.

The harness addresses inputs and outputs by index; this check makes sure the index order and
the tensor types the LOAD stage recorded (and the golden vectors follow) are the ones the
generated C exposes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .tflite_model import ModelInfo, TensorInfo


@dataclass(frozen=True)
class MetaTensor:
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class ModelMeta:
    name: str
    inputs: tuple[MetaTensor, ...]
    outputs: tuple[MetaTensor, ...]


def _tensor(entry: object, where: str) -> MetaTensor:
    if not isinstance(entry, dict):
        raise UserError(f"model.json: {where} is not an object")
    shape = entry.get("shape")
    dtype = entry.get("dtype")
    if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
        raise UserError(f"model.json: {where}.shape must be a list of integers")
    if not isinstance(dtype, str):
        raise UserError(f"model.json: {where}.dtype must be a string")
    return MetaTensor(name=str(entry.get("name", "")), shape=tuple(shape), dtype=dtype)


def load_meta(path: Path) -> ModelMeta:
    """Read and validate ``model.json``."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise UserError(f"metadata file not found: {path}") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read metadata {path}: {err}") from err
    if not isinstance(raw, dict):
        raise UserError("model.json: top level must be an object")
    for key in ("inputs", "outputs"):
        if not isinstance(raw.get(key), list) or not raw[key]:
            raise UserError(f"model.json: '{key}' must be a non-empty list")
    return ModelMeta(
        name=str(raw.get("name", "")),
        inputs=tuple(_tensor(e, f"inputs[{i}]") for i, e in enumerate(raw["inputs"])),
        outputs=tuple(_tensor(e, f"outputs[{i}]") for i, e in enumerate(raw["outputs"])),
    )


def check_against_model(meta: ModelMeta, info: ModelInfo) -> None:
    """Raise UserError when model.json and the flatbuffer disagree on the graph I/O."""

    def compare(kind: str, recorded: tuple[MetaTensor, ...], actual: tuple[TensorInfo, ...]):
        if len(recorded) != len(actual):
            raise UserError(
                f"model.json lists {len(recorded)} {kind}s, the model has {len(actual)}"
            )
        for i, (m, t) in enumerate(zip(recorded, actual)):
            if m.shape != t.shape or m.dtype != t.dtype:
                raise UserError(
                    f"model.json {kind} {i} is {list(m.shape)} {m.dtype}, "
                    f"the model has {list(t.shape)} {t.dtype}"
                )

    compare("input", meta.inputs, info.inputs)
    compare("output", meta.outputs, info.outputs)
