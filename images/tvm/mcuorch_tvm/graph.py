"""The kernel sequence of a fused Relax ``main`` as plain data for the planner and emitter.

After fusion ``main`` is a straight line of ``call_tir(kernel, args)`` bindings (plus zero-copy
reshapes). This module turns it into :class:`Graph`: tensors (inputs, outputs, intermediates,
constants, views) and steps in call order. Everything downstream of it is TVM-free.
"""

from __future__ import annotations

import tvm
from tvm import relax

from .errors import InternalError
from .program import Graph, Step, Tensor

_CALL_TIR = tvm.ir.Op.get("relax.call_tir")
_RESHAPE = tvm.ir.Op.get("relax.reshape")


def _shape_dtype(ty) -> tuple[tuple[int, ...], str]:
    try:
        shape = tuple(int(d) for d in ty.shape)
    except (TypeError, ValueError) as err:
        raise InternalError("dynamic tensor shape in the compiled graph") from err
    return shape, str(ty.dtype)


def extract_graph(mod: tvm.IRModule) -> Graph:
    """Read ``main`` of a fused module; constants are deduplicated by content."""
    main = mod["main"]
    graph = Graph()
    names: dict[relax.Var, str] = {}
    const_names: dict[tuple[str, tuple[int, ...], bytes], str] = {}

    for index, param in enumerate(main.params):
        name = f"input{index}"
        shape, dtype = _shape_dtype(param.ty)
        graph.tensors[name] = Tensor(name, shape, dtype, "input")
        graph.inputs.append(name)
        names[param] = name

    def operand(expr: relax.Expr) -> str:
        if isinstance(expr, relax.Var):
            if expr not in names:
                raise InternalError("kernel argument refers to an unknown variable")
            return names[expr]
        if isinstance(expr, tvm.ir.expr.Constant):
            array = expr.value.numpy()
            key = (str(array.dtype), array.shape, array.tobytes())
            if key not in const_names:
                name = f"const{len(const_names)}"
                const_names[key] = name
                graph.tensors[name] = Tensor(
                    name, tuple(array.shape), str(array.dtype), "constant", data=array
                )
            return const_names[key]
        raise InternalError(f"unsupported kernel argument {type(expr).__name__}")

    body = main.body
    bindings = [b for block in body.blocks for b in block.bindings]
    for binding in bindings:
        value = binding.value
        if isinstance(value, relax.Call) and value.op.same_as(_CALL_TIR):
            args = value.args[1]
            arg_list = list(args.fields) if isinstance(args, relax.Tuple) else [args]
            out = f"t{len(graph.steps)}"
            shape, dtype = _shape_dtype(binding.var.ty)
            graph.tensors[out] = Tensor(out, shape, dtype, "intermediate")
            graph.steps.append(Step(value.args[0].name_hint, [operand(a) for a in arg_list], out))
            names[binding.var] = out
        elif isinstance(value, relax.Call) and value.op.same_as(_RESHAPE):
            base = operand(value.args[0])
            name = f"view{sum(1 for t in graph.tensors.values() if t.view_of)}"
            shape, dtype = _shape_dtype(binding.var.ty)
            graph.tensors[name] = Tensor(name, shape, dtype, "view", view_of=base)
            names[binding.var] = name
        elif isinstance(value, relax.Var):
            names[binding.var] = operand(value)
        elif isinstance(value, relax.Tuple):
            continue
        else:
            raise InternalError(f"unexpected binding in main: {type(value).__name__}")

    result = body.body
    tuples = {b.var: b.value for b in bindings if isinstance(b.value, relax.Tuple)}
    if isinstance(result, relax.Var) and result in tuples:
        result = tuples[result]
    fields = list(result.fields) if isinstance(result, relax.Tuple) else [result]
    graph.outputs = [operand(f) for f in fields]
    for name in graph.outputs:
        if graph.tensors[graph.root(name)].kind == "constant":
            raise InternalError("a graph output is a constant; nothing to compute")
    return graph
