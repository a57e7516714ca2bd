"""Generated code of the `tflmc` backend: tflite_micro_compiler's offline pre-interpretation.

The image's tflite_micro_compiler (6034a24, ported to the pinned TFLite-Micro by
patches/tflmc-6034a248-tflm-19aaea85.patch) runs the model's kernels' Init and Prepare on the
host, built with the run's kernels, and writes C++ that sets up tensors, nodes and kernel state
from constants: no interpreter, op resolver, allocator or planner on the target. The codegen
directory holds that code (`model.cc`, its `model.cc.h`), an adapter to mcuorch_model.h
(`tflmc_model.cc`), and in `tflm/` only the runtime files the code links.

CMSIS-NN sizes scratch buffers by the core's SIMD, so for `cmsisnn` the compiler runs once per
flavour (portable, DSP, MVE) and the adapter includes the one the target compiler selects;
flavours whose code is the same share one file.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .common import FLAVOURS, CodegenError, check_model, copy_runtime, model_header, output_dtypes, runtime_cmake
from .index import closure

GENERATOR = "mcuorch-tflmc"
PREFIX = "model_"
# Besides the kernels, the generated code calls TFLite-Micro's MicroContext hooks.
CODE_NEEDS = ("tensorflow/lite/micro/micro_context.cc",)
_ARENA = re.compile(r"constexpr int kTensorArenaSize = (\d+);")


@dataclass(frozen=True)
class Flavour:
    """One compiler run: its generated source, the #if that selects it, and its arena."""

    name: str
    condition: str | None
    source: str
    arena_bytes: int


def subgraph_count(model: bytes) -> int:
    """Subgraphs of a .tflite flatbuffer (Model table field 2), read without a flatbuffers library."""
    try:
        table = struct.unpack_from("<I", model, 0)[0]
        vtable = table - struct.unpack_from("<i", model, table)[0]
        vtable_size = struct.unpack_from("<H", model, vtable)[0]
        field = 4 + 2 * 2
        offset = struct.unpack_from("<H", model, vtable + field)[0] if field < vtable_size else 0
        if offset == 0:
            return 0
        vector = table + offset + struct.unpack_from("<I", model, table + offset)[0]
        return int(struct.unpack_from("<I", model, vector)[0])
    except struct.error as exc:
        raise CodegenError("the model is not a valid TFLite flatbuffer") from exc


def compiler_error(stderr: str, returncode: int) -> str:
    """The compiler's own reason: its first line that is not a generic trailer."""
    generic = ("Could not set up compiler",)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(generic)]
    reason = (useful or lines or [f"exit code {returncode}"])[0]
    return f"tflite_micro_compiler failed: {reason}"


def run_compiler(tflm_dir: Path, flavour: str, model: Path) -> tuple[str, str]:
    """(model.cc, model.cc.h) of one host build. It runs in an empty folder: the compiler
    loads ./libtflite_micro_custom.so (custom ops) from its working directory if present."""
    tool = tflm_dir / "bin" / f"tflmc-{flavour}"
    with tempfile.TemporaryDirectory(prefix="tflmc-") as tmp:
        out = Path(tmp) / "model.cc"
        result = subprocess.run([str(tool), str(model.resolve()), str(out), PREFIX], cwd=tmp,
                                capture_output=True, text=True)
        if result.returncode != 0 or not out.exists():
            raise CodegenError(compiler_error(result.stderr, result.returncode))
        return out.read_text(), Path(f"{out}.h").read_text()


def arena_bytes(source: str) -> int:
    match = _ARENA.search(source)
    if match is None:
        raise CodegenError("tflite_micro_compiler wrote no kTensorArenaSize")
    return int(match.group(1))


def file_names(flavours: list[Flavour]) -> dict[str, str]:
    """flavour -> the file holding its code: `model.cc` for the last (the default), and
    `model_<suffix>.cc` only for code that differs from the files named before it (named from
    the default backwards, so DSP code that MVE shares is `model_dsp.cc`)."""
    default = flavours[-1]
    names = {default.name: "model.cc"}
    files = {default.source: "model.cc"}
    for f in reversed(flavours[:-1]):
        suffix = f.name.rsplit("_", 1)[-1]
        names[f.name] = files.setdefault(f.source, f"model_{suffix}.cc")
    return names


def adapter_source(meta: dict, kernels: str, flavours: list[Flavour], names: dict[str, str]) -> str:
    """tflmc_model.cc: the generated code (the flavour's file, included) behind mcuorch_model.h."""
    if len(set(names.values())) == 1:
        select = f'#include "{names[flavours[-1].name]}"\n'
    else:
        branches = [f"#{'if' if i == 0 else 'elif'} {f.condition}\n#include \"{names[f.name]}\"  // {f.name}\n"
                    for i, f in enumerate(flavours[:-1])]
        select = "".join(branches) + f'#else\n#include "{names[flavours[-1].name]}"  // {flavours[-1].name}\n#endif\n'
    return f"""// Generated by {GENERATOR} ({kernels} kernels): tflite_micro_compiler's code behind mcuorch_model.h.
// The code is included, so the adapter sees its arena; which file is the kernels' choice.
{select}
#include <stdio.h>

#include "mcuorch_model.h"
#include "model.cc.h"
#include "report.h"

extern "C" const int mcuorch_output_dtype[MCUORCH_NUM_OUTPUTS] = {{{output_dtypes(meta)}}};

extern "C" int mcuorch_model_init(void) {{
    if ({PREFIX}inputs() != MCUORCH_NUM_INPUTS || {PREFIX}outputs() != MCUORCH_NUM_OUTPUTS) {{
        printf("error: tflmc: the generated code's inputs or outputs differ from the model's\\n");
        return 1;
    }}
    if ({PREFIX}init() != kTfLiteOk) {{
        printf("error: tflmc: a kernel's Init or Prepare failed (arena %u bytes)\\n", (unsigned)kTensorArenaSize);
        return 1;
    }}
    return 0;
}}

extern "C" int mcuorch_model_invoke(void) {{ return {PREFIX}invoke() == kTfLiteOk ? 0 : 1; }}
extern "C" void *mcuorch_model_input(size_t i) {{ return {PREFIX}input_ptr((int)i); }}
extern "C" size_t mcuorch_model_input_bytes(size_t i) {{ return {PREFIX}input_size((int)i); }}
extern "C" const void *mcuorch_model_output(size_t i) {{ return {PREFIX}output_ptr((int)i); }}
extern "C" size_t mcuorch_model_output_bytes(size_t i) {{ return {PREFIX}output_size((int)i); }}

extern "C" void mcuorch_model_report(void) {{ mcuorch_report_uint("Arena Size", (uint32_t)kTensorArenaSize); }}
"""


def cmake_hook(kernels: str) -> str:
    return runtime_cmake(GENERATOR, kernels) + """\
# The generated code is compiled through the adapter, which includes it.
target_sources(app PRIVATE "${CMAKE_CURRENT_LIST_DIR}/tflmc_model.cc")
target_link_libraries(app PRIVATE tflm)
"""


def runtime_files(tree: dict, ops: list[str]) -> list[str]:
    """The TFLite-Micro files the generated code links (the ops' kernels and what they call),
    then every file of the NN library, as for tflmi: its SIMD paths call what the host's
    portable build does not."""
    roots = [f for op in ops for f in tree["ops"][op]["files"]] + list(CODE_NEEDS)
    return closure(tree["links"], roots) + list(tree.get("nn_sources", []))


def write(out: Path, model: Path, meta: dict, index: dict, kernels: str, tflm_dir: Path) -> dict:
    tree = check_model(meta, index, kernels)
    subgraphs = subgraph_count(model.read_bytes())
    if subgraphs != 1:
        raise CodegenError(f"the model has {subgraphs} subgraphs; tflite_micro_compiler handles exactly one "
                           "(no control flow ops)")
    flavours, headers = [], set()
    for name, condition in FLAVOURS[kernels]:
        source, header = run_compiler(tflm_dir, name, model)
        flavours.append(Flavour(name, condition, source, arena_bytes(source)))
        headers.add(header)
    if len(headers) != 1:
        raise CodegenError("tflite_micro_compiler wrote different model.cc.h for the kernel flavours")
    names = file_names(flavours)
    out.mkdir(parents=True, exist_ok=True)
    for f in flavours:
        (out / names[f.name]).write_text(f.source)
    (out / "model.cc.h").write_text(headers.pop())
    (out / "mcuorch_model.h").write_text(model_header(GENERATOR, meta))
    (out / "tflmc_model.cc").write_text(adapter_source(meta, kernels, flavours, names))
    (out / "mcuorch.cmake").write_text(cmake_hook(kernels))
    ops = sorted(meta["ops"])
    sources = runtime_files(tree, ops)
    runtime_bytes = copy_runtime(tflm_dir, sources, kernels, out / "tflm")
    summary = {"kernels": kernels, "ops": ops, "arena_bytes": {f.name: f.arena_bytes for f in flavours},
               "files": names, "runtime_sources": len(sources), "runtime_bytes": runtime_bytes}
    (out / "tflmc.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
