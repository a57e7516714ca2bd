"""kernels.json: the kernel listing of tflmi and tflmc, what `-f profile` attributes by.

One step per operator of the model's main subgraph in execution order (TFLite-Micro's
interpreter and tflite_micro_compiler's code both call `registration.invoke(context, node)` for
node 0, 1, ...): layer name (`conv_2d_0`: the op in lower case, numbered per op), op, MACs and
output shape from LOAD's model.json, and the op's invoke function as the ELF names it.

The invoke function is the last argument of `RegisterOp(init, prepare, invoke)` in the op's
`Register_<NAME>()`; its mangled name is built from the namespaces around its definition (the
signature is always `TfLiteStatus (TfLiteContext*, TfLiteNode*)`). Most are file-local (an
anonymous namespace or `static`), often with a name other kernel files use too (`Eval`), so
such a step also names the source file (`object`) whose object defines it: the QEMU runner
looks the symbol up among that object's locals only. An op whose invoke function this cannot
name (a template instance) leaves the listing with an `error` and no steps.
"""

from __future__ import annotations

import re
from pathlib import Path

from .index import RESOLVER, resolver_methods

LISTING = "kernels.json"
PARAMETERS = "P13TfLiteContextP10TfLiteNode"  # (TfLiteContext*, TfLiteNode*)
_CODE = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|^[ \t]*#[^\n]*", re.S | re.M)
_SCOPE = re.compile(r"\bnamespace\s*([A-Za-z_][\w:]*)?\s*\{|[{}]")
_ARGS = re.compile(r"RegisterOp\s*\(([^;]*?)\)\s*;", re.S)


def blank(text: str) -> str:
    """Comments, string literals and preprocessor lines as spaces (offsets kept)."""
    return _CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def namespaces_at(code: str, offset: int) -> list[str] | None:
    """The namespaces enclosing `offset` of blanked code, outermost first ("" = anonymous), or
    None when it is inside a class or function body."""
    stack: list[str | None] = []
    for match in _SCOPE.finditer(code, 0, offset):
        token = match.group(0)
        if token == "}":
            if stack:
                stack.pop()
        elif token == "{":
            stack.append(None)
        else:
            names = (match.group(1) or "").split("::")
            stack.append("::".join(names))
    if any(entry is None for entry in stack):
        return None
    return [name for entry in stack for name in str(entry).split("::")]


def arguments(text: str) -> list[str]:
    """A call's arguments, split at the commas outside brackets (template arguments)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "(<[{":
            depth += 1
        elif char in ")>]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return parts + [text[start:].strip()]


def invoke_name(code: str, registration: str, depth: int = 0) -> str | None:
    """The invoke function `Register_<registration>()` passes to RegisterOp (following a
    `return Register_<OTHER>();`), if it is a plain name."""
    head = re.search(r"\bRegister_" + re.escape(registration) + r"\s*\(\s*\)\s*\{", code)
    if head is None:
        return None
    other = re.match(r"\s*return\s+Register_(\w+)\s*\(\s*\)\s*;", code[head.end():])
    if other is not None and depth < 3:
        return invoke_name(code, other.group(1), depth + 1)
    args = _ARGS.search(code, head.end())
    if args is None:
        return None
    names = arguments(args.group(1))
    name = names[2] if len(names) >= 3 else names[0]
    name = name.split("::")[-1]
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else None


def mangled(namespaces: list[str], name: str, static: bool) -> str:
    """Itanium C++ ABI name of `TfLiteStatus ns::name(TfLiteContext*, TfLiteNode*)`; GCC marks
    a `static` (internal linkage) function with `L`."""
    local = "L" if static else ""
    if not namespaces:
        return f"_Z{local}{len(name)}{name}{PARAMETERS}"
    parts = "".join("12_GLOBAL__N_1" if ns == "" else f"{len(ns)}{ns}" for ns in namespaces)
    return f"_ZN{parts}{local}{len(name)}{name}E{PARAMETERS}"


def find_definition(code: str, name: str) -> tuple[str, bool] | None:
    """(mangled name, file-local?) of the definition of `name` with the invoke signature."""
    pattern = re.compile(r"(\bstatic\s+)?(?:inline\s+)?\bTfLiteStatus\s+" + re.escape(name)
                         + r"\s*\(\s*TfLiteContext\s*\*\s*\w*\s*,\s*TfLiteNode\s*\*\s*\w*\s*\)\s*\{")
    for match in pattern.finditer(code):
        namespaces = namespaces_at(code, match.start())
        if namespaces is None:
            continue
        static = match.group(1) is not None
        return mangled(namespaces, name, static), static or "" in namespaces
    return None


def op_kernel(tree: Path, files: list[str], registration: str) -> dict[str, str] | None:
    """{"kernel": symbol[, "object": source file]} of one op's invoke function."""
    codes = {f: blank((tree / f).read_text(errors="replace")) for f in files}
    name = next((n for n in (invoke_name(c, registration) for c in codes.values()) if n), None)
    if name is None:
        return None
    for rel, code in codes.items():
        found = find_definition(code, name)
        if found is not None:
            symbol, local = found
            return {"kernel": symbol, "object": Path(rel).name} if local else {"kernel": symbol}
    return None


def listing(meta: dict, tree: Path, tree_index: dict) -> dict:
    """The kernel listing of a model (LOAD's model.json) run on the kernels of `tree`; never
    fails the BUILD: what it cannot name is the listing's `error` (a profile's, not the run's)."""
    try:
        registrations = {op: m["register"] for op, m in resolver_methods((tree / RESOLVER).read_text()).items()}
        kernels: dict[str, dict[str, str] | None] = {}
        for op in dict.fromkeys(layer["op"] for layer in meta.get("layers", [])):
            entry = tree_index["ops"].get(op)
            known = entry is not None and op in registrations
            kernels[op] = op_kernel(tree, entry["files"], registrations[op]) if known else None
    except OSError as exc:
        return {"steps": [], "error": f"cannot read the TFLite-Micro sources: {exc}"}
    unnamed = [op for op, kernel in kernels.items() if kernel is None]
    if unnamed:
        return {"steps": [], "error": f"cannot name the invoke function of {', '.join(unnamed)} in the "
                                      f"TFLite-Micro sources (a profile needs it)"}
    counters: dict[str, int] = {}
    steps = []
    for layer in meta["layers"]:
        op = layer["op"]
        number = counters[op] = counters.get(op, -1) + 1
        steps.append({**kernels[op], "name": f"{op.lower()}_{number}", "op": op, "macs": layer.get("macs"),
                      "output_shape": layer.get("output_shape", [])})
    return {"steps": steps}
