"""TVM's C++ runtime as a tvmllvm program links it: libtvm_runtime.so of this image and the C API
headers, copied into the codegen directory (the target software links `lib/*.so` and runs the
program with the library beside it, sw/README.md)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import CodegenError

LIBRARY = "libtvm_runtime.so"
HEADERS = ("tvm/runtime/c_runtime_api.h", "tvm/runtime/c_backend_api.h", "dlpack/dlpack.h")


def tvm_home() -> Path:
    """/opt/tvm, or where TVM_LIBRARY_PATH's parent says the fork is installed."""
    lib = os.environ.get("TVM_LIBRARY_PATH")
    return Path(lib).parent if lib else Path("/opt/tvm")


def copy_runtime(codegen: Path, home: Path | None = None) -> int:
    """Library into codegen/lib, headers into codegen/include; returns the library's bytes."""
    home = home or tvm_home()
    library = home / "lib" / LIBRARY
    if not library.is_file():
        raise CodegenError(f"{library} is missing: this image has no TVM C++ runtime")
    (codegen / "lib").mkdir(parents=True, exist_ok=True)
    shutil.copy2(library, codegen / "lib" / LIBRARY)
    for header in HEADERS:
        source = home / "include" / header
        if not source.is_file():
            raise CodegenError(f"{source} is missing: this image has no TVM C API headers")
        (codegen / "include" / header).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, codegen / "include" / header)
    return library.stat().st_size
