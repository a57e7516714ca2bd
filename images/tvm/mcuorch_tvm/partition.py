"""Group legalized Relax calls into kernels whose boundary tensors are all integer.

TVM's stock ``FuseOps`` fuses by operator pattern and leaves every float32 tensor between a
``dequantize`` and its consumer as a kernel boundary: weights get folded into float32
constants and activations are stored as float32 (4x flash and RAM). Here every call whose
result is float32/int32 is pulled into the kernel that consumes it, so a kernel reads and
writes only quantized tensors (int8/uint8/int16) and integer constants.

Two further merges across quantized tensors save whole activations:

* an elementwise group (clip after quantize, a residual ADD, ...) is appended as the epilogue
  of the kernel producing its input when that kernel is the tensor's only consumer;
* an injective-only group (PAD, a RESHAPE copy) is inlined as the prologue of its only consumer.

The result is a module whose ``main`` calls one ``Primitive`` Relax function per kernel, ready
for ``relax.transform.FuseTIR``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tvm
from tvm import relax

from .errors import InternalError

QUANTIZED_DTYPES = frozenset({"int8", "uint8", "int16"})
# tvm.relax.transform.OpPatternKind values written by AnnotateTIROpPattern.
_ELEMWISE_MAX = 1  # kElemWise = 0, kBroadcast = 1
_INJECTIVE_MAX = 2  # kInjective = 2

_CALL_TIR = tvm.ir.Op.get("relax.call_tir")


@dataclass
class _Group:
    """One future kernel: the bindings it computes and the quantized tensor it produces."""

    anchor: relax.Var
    members: set[int] = field(default_factory=set)
    alive: bool = True


def _dtype(var: relax.Var) -> str:
    return str(var.ty.dtype) if hasattr(var.ty, "dtype") else ""


def _shape(var: relax.Var) -> tuple[int, ...] | None:
    try:
        return tuple(int(d) for d in var.ty.shape)
    except (AttributeError, TypeError, ValueError):
        return None


def _free_vars(expr: relax.Expr) -> list[relax.Var]:
    """Relax vars used by an expression, in first-use order (deterministic)."""
    seen: list[relax.Var] = []

    def visit(e: relax.Expr) -> None:
        if isinstance(e, relax.Var):
            if not any(e.same_as(v) for v in seen):
                seen.append(e)
        elif isinstance(e, relax.Tuple):
            for f in e.fields:
                visit(f)
        elif isinstance(e, relax.Call):
            for a in e.args:
                visit(a)
        elif isinstance(e, relax.TupleGetItem):
            visit(e.tuple_value)

    visit(expr)
    return seen


def _call_args(call: relax.Call) -> list[relax.Expr]:
    args = call.args[1]
    return list(args.fields) if isinstance(args, relax.Tuple) else [args]


def group_kernels(mod: tvm.IRModule, merge_epilogues: bool = True) -> tvm.IRModule:
    """Rewrite ``main`` (legalized, op patterns annotated) into calls of Primitive functions."""
    main = mod["main"]
    body = main.body
    if not isinstance(body, relax.SeqExpr) or len(body.blocks) != 1:
        raise InternalError("partition: expected main to hold exactly one dataflow block")
    bindings = list(body.blocks[0].bindings)
    calls: dict[int, relax.Call] = {}
    producer: dict[relax.Var, int] = {}
    for i, b in enumerate(bindings):
        v = b.value
        if isinstance(v, relax.Call) and v.op.same_as(_CALL_TIR):
            calls[i] = v
            producer[b.var] = i
        elif not isinstance(v, (relax.Tuple, relax.Var)):
            raise InternalError(f"partition: unexpected binding {type(v).__name__} in main")

    def pattern(i: int) -> int:
        func = mod[calls[i].args[0]]
        return int(func.attrs["op_pattern"]) if func.attrs and "op_pattern" in func.attrs else 8

    def var_inputs(i: int) -> list[relax.Var]:
        return [a for a in _call_args(calls[i]) if isinstance(a, relax.Var)]

    # Vars that leave the block (graph outputs) must stay kernel outputs.
    escaping: set[relax.Var] = set()
    for i, b in enumerate(bindings):
        if i not in calls:
            escaping.update(_free_vars(b.value))
    escaping.update(_free_vars(body.body))

    # 1. One group per quantized result, absorbing its float/int32 producers (duplicated when
    #    several groups read the same float value).
    groups: list[_Group] = []
    for i in sorted(calls):
        var = bindings[i].var
        if _dtype(var) not in QUANTIZED_DTYPES and var not in escaping:
            continue
        group = _Group(anchor=var)
        stack = [i]
        while stack:
            j = stack.pop()
            if j in group.members:
                continue
            group.members.add(j)
            for a in var_inputs(j):
                k = producer.get(a)
                if k is not None and _dtype(a) not in QUANTIZED_DTYPES and a not in escaping:
                    stack.append(k)
        groups.append(group)

    def kind(g: _Group) -> int:
        return max(pattern(i) for i in g.members)

    def inputs_of(g: _Group) -> list[relax.Var]:
        internal = {bindings[i].var for i in g.members}
        seen: list[relax.Var] = []
        for i in sorted(g.members):
            for a in var_inputs(i):
                if a not in internal and a not in seen:
                    seen.append(a)
        return seen

    # 2. Merge across quantized tensors with a single consumer (epilogues, prologues).
    changed = True
    while changed:
        changed = False
        live = [g for g in groups if g.alive]
        for gp in live:
            if not gp.alive or gp.anchor in escaping:
                continue
            consumers = [g for g in live if g.alive and g is not gp and gp.anchor in inputs_of(g)]
            if len(consumers) != 1:
                continue
            gc = consumers[0]
            # An epilogue must map the producer's output 1:1 (no broadcast to a larger shape),
            # or the schedule could not compute it under the producer's loops.
            epilogue = kind(gc) <= _ELEMWISE_MAX and _shape(gp.anchor) == _shape(gc.anchor)
            if merge_epilogues and epilogue:
                gp.members |= gc.members
                gp.anchor = gc.anchor
                gc.alive = False
                changed = True
            elif kind(gp) <= _INJECTIVE_MAX:
                gc.members |= gp.members
                gp.alive = False
                changed = True
    final = sorted((g for g in groups if g.alive), key=lambda g: max(g.members))

    def main_op(g: _Group) -> str:
        """Name of the costliest legalized op in the group (the last one among equals)."""
        best = max(sorted(g.members), key=lambda i: (pattern(i) if pattern(i) < 8 else 5, i))
        name = re.sub(r"[^A-Za-z0-9]+", "_", calls[best].args[0].name_hint).strip("_").lower()
        return re.sub(r"(?<=[a-z_])\d+$", "", name) or "kernel"

    names = [f"k{index:02d}_{main_op(g)}" for index, g in enumerate(final)]
    return _build_module(mod, bindings, calls, final, inputs_of, names)


def _build_module(
    mod: tvm.IRModule,
    bindings: list,
    calls: dict[int, relax.Call],
    groups: list[_Group],
    inputs_of,
    names: list[str],
) -> tvm.IRModule:
    """Emit one Primitive Relax function per group and a main that calls them in order."""
    main = mod["main"]
    new_mod = tvm.IRModule({gv: f for gv, f in mod.functions.items() if gv.name_hint != "main"})
    bb = relax.BlockBuilder(new_mod)
    group_funcs: list[tuple[tvm.ir.GlobalVar, list[relax.Expr]]] = []
    for index, g in enumerate(groups):
        outer_inputs = inputs_of(g)
        consts: list[tvm.ir.expr.Constant] = []
        for i in sorted(g.members):
            for a in _call_args(calls[i]):
                if isinstance(a, tvm.ir.expr.Constant) and not any(a.same_as(c) for c in consts):
                    consts.append(a)
        params = [relax.Var(f"p{k}", v.ty) for k, v in enumerate(outer_inputs)]
        params += [relax.Var(f"c{k}", c.ty) for k, c in enumerate(consts)]
        remap: dict[relax.Var, relax.Expr] = dict(zip(outer_inputs, params[: len(outer_inputs)]))

        def subst(a: relax.Expr) -> relax.Expr:
            if isinstance(a, tvm.ir.expr.Constant):
                for c, p in zip(consts, params[len(outer_inputs) :]):
                    if a.same_as(c):
                        return p
            return remap.get(a, a) if isinstance(a, relax.Var) else a

        fbb = relax.BlockBuilder()
        with fbb.function(names[index], params, attrs={"Primitive": True}, private=True):
            with fbb.dataflow():
                out = None
                for i in sorted(g.members):
                    call = calls[i]
                    new_call = relax.call_tir(
                        call.args[0], relax.Tuple([subst(a) for a in _call_args(call)]),
                        call.ty_args[0] if call.ty_args else bindings[i].var.ty,
                    )
                    if bindings[i].var.same_as(g.anchor):
                        out = fbb.emit_output(new_call)
                        remap[bindings[i].var] = out
                    else:
                        remap[bindings[i].var] = fbb.emit(new_call)
            fbb.emit_func_output(out)
        func = fbb.get()[names[index]]
        gv = bb.add_func(func, names[index])
        group_funcs.append((gv, list(outer_inputs) + list(consts)))

    params = list(main.params)
    with bb.function("main", params, attrs={k: main.attrs[k] for k in main.attrs.keys()}):
        with bb.dataflow():
            remap = {}
            for g, (gv, args) in zip(groups, group_funcs):
                new_args = [remap.get(a, a) if isinstance(a, relax.Var) else a for a in args]
                if _is_pure_reshape(mod, calls, g) and len(new_args) == 1:
                    # A copy that only changes the shape: emit a view instead of a kernel.
                    call = relax.op.reshape(new_args[0], g.anchor.ty.shape)
                else:
                    call = relax.Call(gv, new_args)
                remap[g.anchor] = bb.emit(call)
            result = _substitute(body_result(main, bindings), remap)
            outs = bb.emit_output(result)
        bb.emit_func_output(outs)
    return bb.get()


def _is_pure_reshape(mod: tvm.IRModule, calls: dict, group: _Group) -> bool:
    return all(relax.analysis.has_reshape_pattern(mod[calls[i].args[0]]) for i in group.members)


def body_result(main: relax.Function, bindings) -> relax.Expr:
    """The value main returns, with Tuple/Var bindings of the block resolved."""
    result = main.body.body
    aliases = {b.var: b.value for b in bindings if isinstance(b.value, (relax.Tuple, relax.Var))}
    while isinstance(result, relax.Var) and result in aliases:
        result = aliases[result]
    if isinstance(result, relax.Tuple):
        fields = []
        for f in result.fields:
            while isinstance(f, relax.Var) and f in aliases:
                f = aliases[f]
            fields.append(f)
        result = relax.Tuple(fields)
    return result


def _substitute(expr: relax.Expr, remap: dict) -> relax.Expr:
    if isinstance(expr, relax.Var):
        return remap.get(expr, expr)
    if isinstance(expr, relax.Tuple):
        return relax.Tuple([_substitute(f, remap) for f in expr.fields])
    raise InternalError(f"partition: unexpected output expression {type(expr).__name__}")
