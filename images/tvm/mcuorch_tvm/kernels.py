"""Lower scheduled kernels to dependency-free C functions with raw pointer arguments.

``tvm.tirx.build(..., target="c")`` wraps every PrimFunc in TVM's packed calling convention
(``TVMFFIAny`` arguments holding ``DLTensor*``), which needs TVM's runtime headers and error
symbols. Here the TIR pipeline runs with the packed-API step replaced by
:func:`unpacked_api`: each buffer parameter becomes a plain typed pointer, so the C target emits
``void mcuorch_<kernel>(int8_t* p0, ..., int8_t* out)`` that any C99 compiler can call.
Argument asserts are dropped (``tirx.disable_assert``), as the AOT caller passes static shapes.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import tvm
from tvm import s_tir, tirx
from tvm_ffi.structural import structural_equal, structural_map

from .errors import InternalError

# Identifiers that would tie the generated C to TVM's runtime.
_FORBIDDEN = re.compile(r"\b(TVMBackend\w*|TVMFFI\w*|__tvm_ffi\w*|TVMAPI\w*|DLTensor)\b")
_PREAMBLE_END = "void* __tvm_ffi__library_ctx = NULL;\n"
_EXTERN_C = '#ifdef __cplusplus\nextern "C"\n#endif\n'
# Float immediates travel through the C printer as calls of marker functions (the printer
# keeps only 7 significant digits) and are replaced by exact hexadecimal literals afterwards.
_FLOAT_MARK = "mcuorch_f32_"
_FLOAT_MARK_RE = re.compile(_FLOAT_MARK + r"([0-9a-f]{8})\(\)")


_C_SIZES = {"int8_t": 1, "uint8_t": 1, "bool": 1, "int16_t": 2, "int32_t": 4, "uint32_t": 4,
            "float": 4, "int64_t": 8, "double": 8}
_LOCAL_ARRAY = re.compile(r"^\s+(\w+) \w+\[(\d+)\];$", re.M)


@dataclass(frozen=True)
class KernelSource:
    """C code of all kernels plus the prototype of each, keyed by kernel name."""

    code: str
    prototypes: dict[str, str]

    def scratch_bytes(self) -> dict[str, int]:
        """Bytes of local arrays (stack) each kernel declares: the schedule keeps them tiny."""
        sizes = {}
        for name in self.prototypes:
            start = self.code.index(self.prototypes[name][:-1] + " {")
            end = self.code.index("\n}\n", start)
            sizes[name] = sum(
                _C_SIZES.get(ctype, 8) * int(count)
                for ctype, count in _LOCAL_ARRAY.findall(self.code[start:end])
            )
        return sizes


def _unpack(func: tirx.PrimFunc) -> tirx.PrimFunc:
    """Replace buffer-typed parameters with pointers bound by ``DeclBuffer``."""
    params, decls = [], []
    for param in func.params:
        if not tirx.buffer.is_buffer_var(param):
            params.append(param)
            continue
        ptr = tirx.Var(f"{param.name}_ptr", tirx.buffer.buffer_data_pointer_type(param))
        params.append(ptr)
        decls.append(tirx.DeclBuffer(param, data=ptr))
    attrs = {k: func.attrs[k] for k in func.attrs.keys() if k != "tirx.is_entry_func"}
    body = tirx.SeqStmt(decls + [func.body]) if decls else func.body
    return tirx.PrimFunc(params, body, func.ret_type).with_attrs(attrs)


@tvm.transform.module_pass(opt_level=0, name="mcuorch.UnpackedAPI")
def unpacked_api(mod: tvm.IRModule, _ctx: tvm.transform.PassContext) -> tvm.IRModule:
    """Module pass form of :func:`_unpack` (stands where MakePackedAPI would)."""
    return tvm.IRModule({gv: _unpack(f) for gv, f in mod.functions.items()})


def _mark_float(imm: tirx.FloatImm):
    if str(imm.ty) != "float32":
        return imm
    bits = struct.unpack("<I", struct.pack("<f", float(imm.value)))[0]
    return tirx.call_pure_extern("float32", f"{_FLOAT_MARK}{bits:08x}")


@tvm.transform.module_pass(opt_level=0, name="mcuorch.ExactFloatImm")
def exact_float_immediates(mod: tvm.IRModule, _ctx: tvm.transform.PassContext) -> tvm.IRModule:
    """Route float32 immediates around the C printer's 7-digit rounding (see _FLOAT_MARK)."""
    return tvm.IRModule(
        {gv: structural_map(f, [(tirx.FloatImm, _mark_float)]) for gv, f in mod.functions.items()}
    )


def _float_literal(match: re.Match) -> str:
    value = struct.unpack("<f", bytes.fromhex(match.group(1))[::-1])[0]
    if value != value or value in (float("inf"), float("-inf")):
        raise InternalError("non-finite float constant in a kernel")
    if not value:
        return "(0.0f)"
    mantissa, exponent = value.hex().split("p")
    return f"({mantissa.rstrip('0').rstrip('.')}p{exponent}f)"


def _tir_passes(opt_level: int) -> list:
    """TVM's CPU lowering sequence (s_tir pipeline) with the unpacked calling convention.

    ``opt_level`` gates the optional simplifications: 0 lowers only; 1 adds statement
    simplification and no-op removal; 2 adds common-subexpression elimination; 3 (default)
    adds if-hoisting and partitioning of loops at padding borders.
    """
    def when(level: int, *passes) -> list:
        return list(passes) if opt_level >= level else []

    return [
        s_tir.transform.CanonicalizeLoop(),
        s_tir.transform.LowerInitBlock(),
        s_tir.transform.PlanAndUpdateBufferAllocationLocation(),
        s_tir.transform.ConvertBlocksToOpaque(),
        s_tir.transform.CompactBufferAllocation(),
        s_tir.transform.LowerMatchBuffer(),
        *when(1, s_tir.transform.StmtSimplify()),
        s_tir.transform.LowerOpaqueBlock(),
        tirx.transform.FlattenBuffer(),
        tirx.transform.NarrowDataType(32),
        *when(3, s_tir.transform.LoopPartition()),
        tirx.transform.VectorizeLoop(False),
        tirx.transform.StorageRewrite(),
        *when(3, s_tir.transform.HoistIfThenElse()),
        tirx.transform.UnrollLoop(),
        *when(1, s_tir.transform.RenormalizeSplitPattern(), tirx.transform.StmtSimplify(),
              tirx.transform.RemoveNoOp()),
        s_tir.transform.RewriteUnsafeSelect(),
        *when(2, tirx.transform.CommonSubexprElim()),
        tirx.transform.VerifyMemory(),
        unpacked_api,
        tirx.transform.SkipAssert(),
        tirx.transform.LowerTVMBuiltin(),
        tirx.transform.LowerIntrin(),
        exact_float_immediates,
    ]


_SCALAR_DECL = re.compile(r"^[ \t]+(?:bool|u?int(?:8|16|32|64)_t) (\w+) = ([^;\n]+);\n", re.M)
_CALL = re.compile(r"\w\s*\(")
_FUNCTION = re.compile(r"^void \w+\([^)]*\) \{\n.*?^\}\n", re.M | re.S)


def _drop_unused_bindings(function: str) -> str:
    """Remove scalar bindings (`int32_t v_6 = (a + b);`) whose name is never read.

    TVM's C printer keeps a binding after simplification folded its uses away, and gcc -Wall
    flags each one. Only call-free right-hand sides are dropped: they have no side effects.
    """
    while True:
        unused = [m for m in _SCALAR_DECL.finditer(function)
                  if not _CALL.search(m.group(2)) and len(re.findall(rf"\b{m.group(1)}\b", function)) == 1]
        if not unused:
            return function
        for match in reversed(unused):
            function = function[: match.start()] + function[match.end():]


def _clean(source: str) -> str:
    """Drop TVM's runtime preamble and export macros from the C target's output."""
    if _PREAMBLE_END not in source:
        raise InternalError("C codegen output has an unexpected preamble")
    body = source.split(_PREAMBLE_END, 1)[1]
    body = body.replace(_EXTERN_C, "").replace("TVM_DLL ", "")
    body = re.sub(r"^float {0}[0-9a-f]{{8}}\(\);\n".format(_FLOAT_MARK), "", body, flags=re.M)
    body = _FLOAT_MARK_RE.sub(_float_literal, body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    body = _FUNCTION.sub(lambda m: _drop_unused_bindings(m.group(0)), body)
    bad = _FORBIDDEN.search(body)
    if bad:
        raise InternalError(f"generated kernel code needs TVM runtime symbol {bad.group(0)}")
    return body


def kernel_symbols(mod: tvm.IRModule, kernels: list[str]) -> dict[str, str]:
    """C symbol per kernel; structurally equal PrimFuncs share one symbol (and one body).

    Layers of equal shape and quantization (the repeated blocks of DS-CNN and MobileNet) lower
    to the same PrimFunc with different weight pointers: emitting it once saves kernel ROM.
    """
    symbols: dict[str, str] = {}
    representatives: list[tuple[tirx.PrimFunc, str]] = []
    for name in kernels:
        if name in symbols:
            continue
        func = mod[name].without_attr("global_symbol")
        shared = next((sym for other, sym in representatives
                       if structural_equal(func, other, map_free_vars=True)), None)
        if shared is None:
            shared = f"mcuorch_{name}"
            representatives.append((func, shared))
        symbols[name] = shared
    return symbols


def build_kernels(
    mod: tvm.IRModule, names: dict[str, str], opt_level: int
) -> KernelSource:
    """Compile the PrimFuncs of ``mod`` (renamed by ``names``: old name → C symbol) to C."""
    target = tvm.target.Target("c")
    funcs = {}
    for gv, func in mod.functions.items():
        if isinstance(func, tirx.PrimFunc) and gv.name_hint in names:
            symbol = names[gv.name_hint]
            funcs[symbol] = func.with_attrs({"global_symbol": symbol, "target": target})
    prim_mod = tvm.IRModule({name: funcs[name] for name in sorted(funcs)})
    config = {
        "tirx.disable_assert": True,
        "s_tir.LoopPartition": {"partition_const_loop": opt_level >= 3},
    }
    with tvm.transform.PassContext(opt_level=opt_level, config=config):
        lowered = tvm.ir.transform.Sequential(_tir_passes(opt_level))(prim_mod)
        built = tvm.get_global_func("target.build.c")(lowered, target)
    code = _clean(built.inspect_source())
    prototypes = {}
    for symbol in sorted(funcs):
        match = re.search(rf"^void {re.escape(symbol)}\([^)]*\);$", code, re.M)
        if not match:
            raise InternalError(f"no prototype for kernel {symbol} in generated C")
        prototypes[symbol] = match.group(0)
    return KernelSource(code=code, prototypes=prototypes)
