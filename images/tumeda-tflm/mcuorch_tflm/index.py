"""Index of the TFLite-Micro runtime trees, made once when the image is built.

For every builtin op: the `MicroMutableOpResolver` method that registers it and the kernel
files that define its registration (plus the op's `*_common.cc`). The backend copies only
those kernels next to a model, so the target software compiles the runtime core and the
model's own kernels instead of all ~110 of them. Read from the trees themselves, so the index
always matches the pinned TFLite-Micro.

With `--objects` (the host build of the trees) it also records which runtime file needs which
others to link (`links`, from the objects' symbols): tflmc compiles exactly the closure of the
kernels its generated code calls, which leaves the interpreter, allocator and planners out.

    python3 -m mcuorch_tflm.index --trees /opt/tflm --all-ops FILE           # before the host build
    python3 -m mcuorch_tflm.index --trees /opt/tflm --objects BUILD --out /opt/tflm/index.json
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
from collections.abc import Iterable
from pathlib import Path

TREES = ("reference", "cmsis_nn", "muriscvnn")
RESOLVER = "tensorflow/lite/micro/micro_mutable_op_resolver.h"
KERNELS = "tensorflow/lite/micro/kernels"
NN_SOURCES = {"cmsis_nn": "third_party/cmsis_nn/Source", "muriscvnn": "third_party/muriscv_nn/Source"}
# Kernel helpers every op's code calls; the other registration-free files are per-op commons.
KERNEL_HELPERS = ("kernel_util.cc", "micro_tensor_utils.cc")
# Test doubles of the core: never part of a benchmark program.
NOT_RUNTIME = ("test_helpers.cc", "test_helper_custom_ops.cc", "mock_micro_graph.cc",
               "fake_micro_context.cc")

_METHOD = re.compile(r"TfLiteStatus (Add\w+)\(")
_BUILTIN = re.compile(r"BuiltinOperator_(\w+)")
_REGISTER_USE = re.compile(r"Register_(\w+)\(\)")
_REGISTER_DEF = re.compile(r"TFLMRegistration\*?\s+Register_(\w+)\s*\(\s*\)\s*\{")


def resolver_methods(header: str) -> dict[str, dict[str, str]]:
    """op -> {"add": method, "register": registration} from the resolver header."""
    starts = [m for m in _METHOD.finditer(header)]
    methods: dict[str, dict[str, str]] = {}
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(header)
        body = header[match.start():end]
        builtin, register = _BUILTIN.search(body), _REGISTER_USE.search(body)
        if match.group(1) == "AddBuiltin" or not builtin or not register:
            continue  # the generic AddBuiltin/AddCustom, and custom (signal) ops
        methods.setdefault(builtin.group(1), {"add": match.group(1), "register": register.group(1)})
    return methods


def registrations(tree: Path) -> dict[str, str]:
    """registration name -> kernel file (relative to the tree) that defines it."""
    found: dict[str, str] = {}
    for path in sorted((tree / KERNELS).rglob("*.cc")):
        for name in _REGISTER_DEF.findall(path.read_text(errors="replace")):
            found.setdefault(name, str(path.relative_to(tree)))
    return found


def _defines_registration(path: Path) -> bool:
    return bool(_REGISTER_DEF.search(path.read_text(errors="replace")))


def tree_index(tree: Path, methods: dict[str, dict[str, str]]) -> dict[str, object]:
    defined = registrations(tree)
    ops: dict[str, dict[str, object]] = {}
    for op, method in sorted(methods.items()):
        source = defined.get(method["register"])
        if source is None:
            continue
        files = [source]
        common = tree / KERNELS / (Path(source).stem + "_common.cc")
        if common.exists():
            files.append(str(common.relative_to(tree)))
        ops[op] = {"add": method["add"], "files": files}
    kernels = tree / KERNELS
    core = [str(p.relative_to(tree)) for p in sorted((tree / "tensorflow").rglob("*.cc"))
            if kernels not in p.parents and p.name not in NOT_RUNTIME]
    core += [f"{KERNELS}/{name}" for name in KERNEL_HELPERS if (kernels / name).exists()]
    index: dict[str, object] = {"ops": ops, "core": core}
    nn = NN_SOURCES.get(tree.name)
    if nn:
        index["nn_sources"] = [str(p.relative_to(tree)) for p in sorted((tree / nn).rglob("*.c"))]
    return index


def object_symbols(nm_output: str) -> tuple[set[str], set[str], set[str]]:
    """(strong definitions, weak definitions, undefined) from `nm -P -g` output."""
    strong: set[str] = set()
    weak: set[str] = set()
    undefined: set[str] = set()
    for line in nm_output.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind == "w":
            continue  # a weak reference links without a definition
        elif kind in "WVvu":
            weak.add(name)  # inline functions, templates: usually a copy in every user
        else:
            strong.add(name)
    return strong, weak, undefined


def link_deps(symbols: dict[str, tuple[set[str], set[str], set[str]]]) -> dict[str, list[str]]:
    """file -> the files whose definitions it refers to, as the linker would pull them from an
    archive: a strong definition first, else a weak one. Symbols no file defines (libc, the NN
    library) need nothing from the tree."""
    strong: dict[str, str] = {}
    weak: dict[str, str] = {}
    for path in sorted(symbols):
        for name in symbols[path][0]:
            strong.setdefault(name, path)
        for name in symbols[path][1]:
            weak.setdefault(name, path)
    deps: dict[str, list[str]] = {}
    for path, (_, _, undefined) in sorted(symbols.items()):
        found = {strong.get(name) or weak.get(name) for name in undefined}
        deps[path] = sorted(f for f in found if f is not None and f != path)
    return deps


def closure(links: dict[str, list[str]], roots: Iterable[str]) -> list[str]:
    """Every file the roots need to link, roots included, sorted."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(links.get(path, []))
    return sorted(seen)


def object_path(entry: dict) -> str:
    """A compile database entry's object: `output` (CMake >= 3.26), else the command's `-o`."""
    if "output" in entry:
        return str(entry["output"])
    args = entry.get("arguments") or shlex.split(entry["command"])
    return str(args[args.index("-o") + 1])


def tree_objects(build: Path, trees: Path) -> dict[str, dict[str, Path]]:
    """tree -> {file relative to the tree: its object} from the host build's compile database.
    Files the trees share were built once, from the reference tree (tools/CMakeLists.txt)."""
    found: dict[str, dict[str, Path]] = {}
    for entry in json.loads((build / "compile_commands.json").read_text()):
        source = Path(entry["file"])
        if trees not in source.parents or source.suffix != ".cc":
            continue
        tree, *rel = source.relative_to(trees).parts
        found.setdefault(tree, {})[str(Path(*rel))] = Path(entry["directory"]) / object_path(entry)
    shared = found.get("reference", {})
    by_tree: dict[str, dict[str, Path]] = {}
    for name in TREES:
        if not (trees / name).is_dir():
            continue
        own = found.get(name, {})
        files = [str(p.relative_to(trees / name)) for p in (trees / name / "tensorflow").rglob("*.cc")]
        by_tree[name] = {f: own.get(f) or shared[f] for f in sorted(files) if f in own or f in shared}
    return by_tree


def tree_links(objects: dict[str, Path]) -> dict[str, list[str]]:
    cache: dict[Path, tuple[set[str], set[str], set[str]]] = {}
    for obj in objects.values():
        if obj not in cache:
            nm = subprocess.run(["nm", "-P", "-g", str(obj)], capture_output=True, text=True, check=True)
            cache[obj] = object_symbols(nm.stdout)
    return link_deps({rel: cache[obj] for rel, obj in objects.items()})


def all_ops_include(methods: dict[str, dict[str, str]]) -> str:
    """`resolver.AddX();` for every builtin op, for the host arena tool."""
    lines = [f"#define MCUORCH_ALL_OPS_COUNT {len(methods)}"]
    lines += [f"MCUORCH_ADD_OP({m['add']})" for _, m in sorted(methods.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--all-ops", type=Path, help="write MCUORCH_ADD_OP lines for the host tools")
    parser.add_argument("--objects", type=Path, help="the host build folder: add each tree's links")
    args = parser.parse_args()
    methods = resolver_methods((args.trees / "reference" / RESOLVER).read_text())
    if args.all_ops:
        args.all_ops.write_text(all_ops_include(methods))
    if args.out:
        index = {name: tree_index(args.trees / name, methods) for name in TREES if (args.trees / name).is_dir()}
        if args.objects:
            for name, objects in tree_objects(args.objects, args.trees).items():
                index[name]["links"] = tree_links(objects)
        args.out.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
        print(f"indexed {len(methods)} ops in {', '.join(index)}")


if __name__ == "__main__":
    main()
