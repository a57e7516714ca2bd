"""Which part of a program an input section belongs to, from the object file it came from.

The link map names, for every input section, the object (or `archive(member)`) it was taken
from. The target software builds the harness from `sw/harness/`, the generated model code from
the BUILD stage's `codegen/` folder (CMake puts both objects under `CMakeFiles/app.dir/`), and
links the toolchain's C library; a framework's runtime comes either as its own static library
(TFLite-Micro's `libtflm.a`) or as sources inside codegen (microTVM's `codegen/crt/`). The path
alone tells these apart, so classification needs no knowledge of the backend that ran.

Buckets, in report order: `weights` (data of the generated code), `kernels` (code of the
generated code), `runtime` (a framework's runtime and kernel libraries), `libc` (C library,
libm, libgcc, C++ support), `harness` (sw/harness and the C start-up files) and `other` (bytes
no object owns: linker-made tables such as `.dynsym` or `.got`, fill and alignment).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Literal

Bucket = Literal["weights", "kernels", "runtime", "libc", "harness", "other"]
BUCKETS: tuple[Bucket, ...] = ("weights", "kernels", "runtime", "libc", "harness", "other")

APP_OBJECTS = "CMakeFiles/app.dir/"
"""Where CMake puts the objects of the target software's own sources (harness + codegen)."""
HARNESS_PREFIXES = (APP_OBJECTS + "harness/", APP_OBJECTS + "mcuorch_golden_data.")
STARTUP = re.compile(r"^(?:crt0.*|[SMgr]?crt1|crt[in]|crtbegin.*|crtend.*|crtfastmath|crtprec\d+)\.o(?:bj)?$")
"""The C start-up files the compiler driver adds (picolibc's crt0-*.o, glibc's Scrt1.o, ...)."""
LIBC_ARCHIVES = frozenset({
    "libc.a", "libm.a", "libg.a", "libgcc.a", "libgcc_eh.a", "libsemihost.a", "libdummyhost.a",
    "libc_nonshared.a", "libpthread.a", "libdl.a", "librt.a", "libmvec.a", "libstdc++.a",
    "libsupc++.a", "libatomic.a", "libssp.a", "libssp_nonshared.a", "libnosys.a", "libcrt0.a",
})
LIBC_DIRS = ("/picolibc/", "/newlib/", "/lib/gcc/", "/x86_64-linux-gnu/", "/libc/")
RUNTIME_MARKERS = re.compile(
    r"(?:^|/)(?:crt|tflm|tflite-micro|tensorflow|third_party|cmsis[\w-]*|muriscv[\w-]*|tvm|"
    r"tvm_runtime|flatbuffers|dlpack)/", re.IGNORECASE)
"""Folders of framework runtimes inside the generated code: microTVM's codegen/crt/, TFLite-Micro
(tflm/, tensorflow/lite/micro, third_party/), CMSIS-NN, muRISCV-NN, TVM's runtime."""
LINKER_MADE = re.compile(
    r"^\.(?:interp|hash|gnu\.hash|dynsym|dynstr|gnu\.version(?:_[dr])?|rela?\..*|relr\.dyn|plt(?:\..*)?|"
    r"iplt|got(?:\..*)?|igot(?:\..*)?|dynamic|dynbss|eh_frame_hdr|note\.gnu\.build-id|note\.gnu\.property|"
    r"sframe|glue_7t?|vfp11_veneer|v4_bx)$")
"""Sections the linker writes itself (the map credits them to the first input object)."""
MODEL_DATA = re.compile(r"^\.(?:s?rodata|s?data|ldata|lrodata|data\.rel\.ro)(?:\..*)?$")
CONSTANT_POOLS = re.compile(r"^\.(?:s?rodata)\.(?:.*\.)?(?:cst\d+|str\d+\.\d+)$")
"""The compiler's own literal pools (float constants, strings): part of the code that uses them."""


def _archive_and_member(origin: str) -> tuple[str, str]:
    """`/lib/libc.a(memcpy.o)` -> (`/lib/libc.a`, `memcpy.o`); a plain object has no member."""
    if origin.endswith(")") and "(" in origin:
        archive, member = origin[:-1].split("(", 1)
        return archive, member
    return origin, ""


def model_root(origins: Iterable[str]) -> str:
    """The folder holding every generated-code object: the common directory of the objects under
    `CMakeFiles/app.dir/` that are not the harness (the codegen folder, wherever it was mounted).

    Runtime markers are looked for below it only, so a user's folder named `tflite` or `crt`
    above the codegen folder never turns model code into runtime."""
    folders = [PurePosixPath(o).parent.parts for o in origins
               if o.startswith(APP_OBJECTS) and not o.startswith(HARNESS_PREFIXES)]
    if not folders:
        return APP_OBJECTS
    common = list(folders[0])
    for parts in folders[1:]:
        while tuple(common) != parts[: len(common)]:
            common.pop()
    return str(PurePosixPath(*common)) + "/"


def _prebuilt_in(path: str, root: str) -> bool:
    """A prebuilt object of the generated code (e.g. tvmllvm's LLVM object): the link map names it
    by its absolute path, which is the codegen folder that `root` mirrors below CMakeFiles/app.dir/."""
    return root != APP_OBJECTS and path.startswith("/" + root[len(APP_OBJECTS):])


def classify(origin: str, section: str, root: str = APP_OBJECTS) -> Bucket:
    """The bucket of input section `section` taken from `origin` (the link map's file column);
    `root` is the generated code's folder (`model_root`).

    Order matters: linker-made sections first (whatever object the map credits), then the
    harness and start-up files, the C library, framework runtimes, and last the generated code,
    split into data (weights) and everything else (kernels)."""
    if not origin or LINKER_MADE.match(section):
        return "other"
    archive, member = _archive_and_member(origin)
    if origin.startswith(HARNESS_PREFIXES) or STARTUP.match(PurePosixPath(member or archive).name):
        return "harness"
    if member and PurePosixPath(archive).name in LIBC_ARCHIVES:
        return "libc"
    if origin.startswith(APP_OBJECTS) or _prebuilt_in(archive, root):
        if origin.startswith(root):
            inside = origin[len(root):]
        elif _prebuilt_in(archive, root):
            inside = origin[len(root) - len(APP_OBJECTS) + 1:]
        else:
            inside = origin[len(APP_OBJECTS):]
        if RUNTIME_MARKERS.search("/" + inside):
            return "runtime"
        if MODEL_DATA.match(section) and not CONSTANT_POOLS.match(section):
            return "weights"
        return "kernels"
    if archive.startswith("/") and any(d in archive for d in LIBC_DIRS):
        return "libc"  # an absolute toolchain path that is none of the above (e.g. a libgcc object)
    return "runtime"  # a library the generated code's CMake hook built (libtflm.a, ...)
