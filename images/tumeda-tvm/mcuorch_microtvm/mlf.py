"""The model library format (MLF) archive tvmc writes: generated C, the executor's artefacts,
the memory figures and the C runtime (CRT) sources of the fork that compiled it."""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CodegenError

MODULE = "default"
"""tvmc's module name: every symbol is prefixed `tvmgen_default_`."""


@dataclass(frozen=True)
class Mlf:
    root: Path
    metadata: dict

    @property
    def sources(self) -> list[Path]:
        return sorted((self.root / "codegen" / "host" / "src").glob("*.c"))

    @property
    def objects(self) -> list[Path]:
        """tvmllvm's host module compiled by LLVM (codegen/host/lib/*.o)."""
        return sorted((self.root / "codegen" / "host" / "lib").glob("*.o"))

    @property
    def include_dir(self) -> Path:
        return self.root / "codegen" / "host" / "include"

    def crt_dir(self, fallback: Path) -> Path:
        """The C runtime the archive carries (AOT only), else the compiler's own copy."""
        carried = self.root / "runtime"
        return carried if carried.is_dir() else fallback

    @property
    def graph_json(self) -> Path:
        return self.root / "executor-config" / "graph" / f"{MODULE}.graph"

    def _main_memory(self) -> dict:
        module = self.metadata.get("modules", {}).get(MODULE, self.metadata)
        functions = module.get("memory", {}).get("functions", {})
        main = functions.get("main") or [{}]
        return main[0]

    @property
    def workspace_bytes(self) -> int:
        """Bytes the AOT `main` takes with TVMBackendAllocWorkspace (0 with USMP)."""
        return int(self._main_memory().get("workspace_size_bytes", 0))

    @property
    def constants_bytes(self) -> int:
        return int(self._main_memory().get("constants_size_bytes", 0))

    @property
    def io_bytes(self) -> int:
        return int(self._main_memory().get("io_size_bytes", 0))

    def kernel_count(self) -> int:
        """Fused operator functions in the generated code (what MLonMCU reports as kernels)."""
        module = self.metadata.get("modules", {}).get(MODULE, self.metadata)
        return len(module.get("memory", {}).get("functions", {}).get("operator_functions", []))

    def workspace_allocations(self) -> int:
        """TVMBackendAllocWorkspace call sites: each costs the stack allocator one aligned header."""
        pattern = re.compile(r"\bTVMBackendAllocWorkspace\s*\(")
        return sum(len(pattern.findall(p.read_text(errors="replace"))) for p in self.sources)


def extract(tar: Path, dest: Path) -> Mlf:
    """Unpack the archive (members only below `dest`) and read its metadata."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    with tarfile.open(tar) as archive:
        members = archive.getmembers()
        for member in members:  # Python 3.11.2 has no extraction filters: check by hand
            target = (root / member.name).resolve()
            if not (target == root or root in target.parents) or member.issym() or member.islnk():
                raise CodegenError(f"{tar.name}: member {member.name!r} would leave the output folder")
        archive.extractall(dest, members=[m for m in members if m.isfile() or m.isdir()])
    meta_path = dest / "metadata.json"
    if not meta_path.is_file():
        raise CodegenError(f"{tar.name} is no model library format archive (no metadata.json)")
    return Mlf(root=dest, metadata=json.loads(meta_path.read_text()))
