"""What `mcuorch size RUN` looks at: a run's compiled program, its ROM split and ROM symbols.

A run is named like `mcuorch explain` names things: by its index in a session (the session's
`RunRecord.jobs` gives the COMPILE job key, the job store its outputs), by a COMPILE job key
(prefix), or by a folder holding `app.elf` (a COMPILE job, its `outputs/`, or sw/compile.sh's
OUT). The target's memory map comes from the `target.json` COMPILE writes beside the ELF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.errors import UserError
from orchestrator.explain import find_job
from orchestrator.metrics.elf_memory import StaticMemory, static_memory
from orchestrator.metrics.link_map import read_link_map
from orchestrator.metrics.rom_split import RomSplit, rom_split
from orchestrator.metrics.rom_symbols import RomSymbol, rom_symbols
from orchestrator.metrics.targets import TargetError, load_compiled_target
from orchestrator.session import SessionStore
from orchestrator.store import JobStore

ELF = "app.elf"
LINK_MAP = "app.map"


def _program_folder(path: Path) -> Path | None:
    for folder in (path, path / "outputs"):
        if (folder / ELF).is_file():
            return folder
    return None


def compile_outputs(ref: str, session: str | None, sessions: SessionStore, store: JobStore) -> Path:
    """The folder with `app.elf` of run `ref`: a run index of `session` (default: the latest),
    a COMPILE job key (prefix), or a path."""
    path = Path(ref).expanduser()
    if path.is_file() and path.name == ELF:
        return path.parent
    if path.is_dir():
        folder = _program_folder(path)
        if folder is None:
            raise UserError(f"{ref} holds no {ELF} (give a COMPILE job folder or its outputs/)")
        return folder
    if ref.isdigit():
        record = sessions.load(session)
        run = record.run(int(ref))
        job = store.lookup_any(Stage.COMPILE.value, run.jobs.get(Stage.COMPILE.value))
        if job is None:
            raise UserError(f"run {ref} of session {record.id} has no published COMPILE job")
        return job.outputs
    if "/" in ref or ref.startswith("."):
        raise UserError(f"{ref} does not exist")
    job = find_job(store, ref)
    if job.record.stage != Stage.COMPILE.value or _program_folder(job.outputs) is None:
        raise UserError(f"job {ref} is a {job.record.stage} job, not a COMPILE job with {ELF}")
    return job.outputs


@dataclass(frozen=True)
class ProgramSize:
    """Static memory of one compiled program, its ROM split (None without a link map) and its
    ROM symbols, largest first."""

    target: str | None
    memory: StaticMemory
    split: RomSplit | None
    symbols: list[RomSymbol]


def program_size(folder: Path) -> ProgramSize:
    """Measure the program in `folder` (COMPILE's outputs: app.elf, target.json, app.map)."""
    elf = folder / ELF
    try:
        spec = load_compiled_target(folder)
    except TargetError:
        spec = None  # built elsewhere: placed by section flags, like the Linux host
    memory = static_memory(elf, spec.memory.flash, spec.memory.ram) if spec else static_memory(elf)
    link_map = read_link_map(folder / LINK_MAP)
    if not link_map and (folder / "build" / LINK_MAP).is_file():
        link_map = read_link_map(folder / "build" / LINK_MAP)  # COMPILE outputs from before app.map
    split = rom_split(memory, link_map) if link_map else None
    return ProgramSize(target=spec.name if spec else None, memory=memory, split=split,
                       symbols=rom_symbols(elf, memory, split))
