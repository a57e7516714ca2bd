"""`definition.yml` of a bundled model, in MLonMCU's layout (so its users recognise it).

```yaml
name: aww
description: ...
provenance: how the weights were made
network:      {filename: model.tflite, framework: TensorFlow Lite, file_size_bytes: N,
               hash: {algorithm: sha256, value: ...}}
network_parameters:
  input_nodes:
  - {name: input_1, shape: [1, 49, 10, 1], dtype: int8,
     quantize: {scale: 0.5, zero_shift: -128, dtype: float32}}
  output_nodes:
  - {name: Identity, shape: [1, 12], dtype: int8,
     dequantize: {scale: 0.00390625, zero_shift: -128, dtype: float32}}
golden: {num_vectors: 4, path: golden, reference: ...}
operators: {TensorFlow Lite: [CONV_2D, ...]}
backends: {tflmi: {arena_size: 32768}}
```
Unknown top-level keys are kept (MLonMCU files carry more, e.g. `benchmark`, `license`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class DefinitionError(ValueError):
    """definition.yml is unreadable or does not match the model (one-line message)."""


class QuantSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scale: float
    zero_shift: int
    dtype: str = "float32"


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    shape: list[int]
    dtype: str
    description: str = ""
    quantize: QuantSpec | None = None
    dequantize: QuantSpec | None = None

    def quant(self) -> QuantSpec | None:
        return self.quantize or self.dequantize


class NetworkParameters(BaseModel):
    model_config = ConfigDict(extra="allow")
    input_nodes: list[NodeSpec] = Field(min_length=1)
    output_nodes: list[NodeSpec] = Field(min_length=1)


class GoldenSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    num_vectors: int = Field(ge=0)
    path: str = "golden"
    reference: str = ""


class Definition(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    description: str = ""
    provenance: str = ""
    network_parameters: NetworkParameters
    golden: GoldenSpec | None = None
    backends: dict[str, dict[str, Any]] = {}


def load_definition(path: Path) -> Definition:
    """Read and validate a definition.yml; raises DefinitionError with one line."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise DefinitionError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise DefinitionError(f"{path} must hold a mapping")
    try:
        return Definition.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise DefinitionError(f"{path}: {where}: {err['msg']}") from None


_KEY_ORDER = ("name", "description", "provenance", "network", "network_parameters", "golden", "operators",
              "backends", "metrics")


def dump_definition(definition: Definition) -> str:
    """YAML text of a definition, stable across runs (no sorting surprises, no aliases)."""

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    data = definition.model_dump(exclude_none=True)
    first = [k for k in _KEY_ORDER if k in data]
    data = {k: data[k] for k in first + [k for k in data if k not in first]}
    return "---\n" + yaml.dump(data, Dumper=_NoAliases, sort_keys=False, default_flow_style=None, width=100)
