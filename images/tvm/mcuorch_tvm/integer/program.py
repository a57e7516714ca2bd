"""The integer kernel sequence of a model and its Relax form.

:class:`IntegerProgram` is what the op lowerings produce: graph inputs, kernel calls (each
writes one new tensor), zero-copy reshapes, graph outputs. :func:`to_relax` turns it into the
module shape the backend's AOT path consumes after its own fusion and scheduling: ``main`` is
one dataflow block of ``call_tir`` bindings (constants inline) and ``reshape`` views, and
every callee is an already scheduled PrimFunc.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tvm
from tvm import relax

from .kernels.common import Kernel


@dataclass
class Call:
    """``output = kernel(*inputs, *kernel.constants)``; names refer to program tensors."""

    kernel_name: str
    kernel: Kernel
    inputs: list[str]
    output: str
    op: str


@dataclass
class View:
    """``output`` is ``source`` reinterpreted with another shape (TFLite RESHAPE)."""

    source: str
    output: str


@dataclass
class IntegerProgram:
    """Tensors (name -> (shape, dtype)) and the steps computing the outputs from the inputs."""

    tensors: dict[str, tuple[tuple[int, ...], str]] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    steps: list[Call | View] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def calls(self) -> list[Call]:
        return [s for s in self.steps if isinstance(s, Call)]

    @property
    def macs(self) -> int:
        return sum(c.kernel.macs for c in self.calls)


def to_relax(program: IntegerProgram) -> tvm.IRModule:
    """Build the Relax module: PrimFuncs by kernel name, ``main`` calling them in order."""
    bb = relax.BlockBuilder()
    params = {name: relax.Var(name, relax.TensorType(program.tensors[name][0], program.tensors[name][1]))
              for name in program.inputs}
    with bb.function("main", [params[n] for n in program.inputs]):
        with bb.dataflow():
            values: dict[str, relax.Expr] = dict(params)
            for step in program.steps:
                shape, dtype = program.tensors[step.output]
                if isinstance(step, View):
                    values[step.output] = bb.emit(relax.op.reshape(values[step.source], shape))
                    continue
                gvar = bb.add_func(step.kernel.func, step.kernel_name)
                # The dtype is explicit: ``relax.const`` narrows int64 arrays to int32 otherwise.
                args = [values[n] for n in step.inputs] + [relax.const(np.ascontiguousarray(c), str(c.dtype))
                                                          for c in step.kernel.constants]
                values[step.output] = bb.emit(
                    relax.call_tir(gvar, args, relax.TensorType(shape, dtype)))
            outs = [values[n] for n in program.outputs]
            result = bb.emit_output(outs[0] if len(outs) == 1 else relax.Tuple(outs))
        bb.emit_func_output(result)
    return bb.get()
