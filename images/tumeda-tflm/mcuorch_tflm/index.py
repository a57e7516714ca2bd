"""Index of the TFLite-Micro runtime trees, made once when the image is built.

For every builtin op: the `MicroMutableOpResolver` method that registers it and the kernel
files that define its registration (plus the op's `*_common.cc`). The backend copies only
those kernels next to a model, so the target software compiles the runtime core and the
model's own kernels instead of all ~110 of them. Read from the trees themselves, so the index
always matches the pinned TFLite-Micro.

    python3 -m mcuorch_tflm.index --trees /opt/tflm --out /opt/tflm/index.json [--all-ops FILE]
"""

from __future__ import annotations

import argparse
import json
import re
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


def all_ops_include(methods: dict[str, dict[str, str]]) -> str:
    """`resolver.AddX();` for every builtin op, for the host arena tool."""
    lines = [f"#define MCUORCH_ALL_OPS_COUNT {len(methods)}"]
    lines += [f"MCUORCH_ADD_OP({m['add']})" for _, m in sorted(methods.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--all-ops", type=Path)
    args = parser.parse_args()
    methods = resolver_methods((args.trees / "reference" / RESOLVER).read_text())
    index = {name: tree_index(args.trees / name, methods) for name in TREES if (args.trees / name).is_dir()}
    args.out.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    if args.all_ops:
        args.all_ops.write_text(all_ops_include(methods))
    print(f"indexed {len(methods)} ops in {', '.join(index)}")


if __name__ == "__main__":
    main()
