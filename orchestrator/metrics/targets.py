"""Per-target facts, read from sw/targets/<name>.json.

The same files drive the target software's CMake project (compiler, flags, memory map, stack
size), so the host never restates a fact the build uses. COMPILE writes the resolved copy
(chosen arch, optimisation, validation mode) beside app.elf as target.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrator.errors import ConfigError, first_problem
from orchestrator.paths import project_paths


class TargetError(ConfigError):
    """An unknown target or a target file that does not follow the schema."""


def _int(value: object) -> int:
    """Addresses are written as hex strings ("0x80000000") in the JSON files.

    Raises ValueError in every case: pydantic turns only that into a validation error."""
    if isinstance(value, bool):
        raise ValueError("expected an address or size, not a boolean")  # noqa: TRY004
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 0)
    raise ValueError(f"expected an address or size, not {value!r}")


class MemoryRegion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    origin: int
    length: int = Field(gt=0)

    @field_validator("origin", "length", mode="before")
    @classmethod
    def _parse(cls, value: object) -> int:
        return _int(value)

    @property
    def end(self) -> int:
        return self.origin + self.length

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.end


class MemoryMap(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    flash: MemoryRegion | None
    ram: MemoryRegion | None
    stack_size: int = Field(gt=0)

    @field_validator("stack_size", mode="before")
    @classmethod
    def _parse(cls, value: object) -> int:
        return _int(value)

    @model_validator(mode="after")
    def _both_or_neither(self) -> MemoryMap:
        if (self.flash is None) != (self.ram is None):
            raise ValueError("give both flash and ram, or neither")
        return self


class ModelCompiler(BaseModel):
    """A compiler for the generated model code only, e.g. clang for RISC-V vector intrinsics
    that GCC 12 lacks: the harness and the link stay with the target's `compiler`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    command: str
    flags: list[str]
    image: str
    """The toolchain image that has `command` (COMPILE runs there instead of the target's)."""


class ArchVariant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    abi: str
    flags: list[str]
    """GCC's flags for the harness and the link (and the model code, without `model_compiler`)."""
    model_compiler: ModelCompiler | None = None
    qemu_cpu: str | None = None
    spike_isa: str | None = None
    """Spike's --isa for this variant (targets run by Spike)."""
    isa: str | None = None
    """The instruction set as code generators name it (`cortex-m55+mve`, `cortex-m4+dsp`): what
    tvmaot generates its kernels for (`Target.isa`; RISC-V targets use -march instead); None: portable C."""


class RunSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["qemu", "native", "spike", "etiss"]
    board: str | None = None
    qemu_board: str | None = None
    """A QEMU machine that runs the same ELF too (spike: QEMU's `spike` board), for cross-checks."""

    @model_validator(mode="after")
    def _board_for_qemu(self) -> RunSpec:
        if self.kind == "qemu" and not self.board:
            raise ValueError("a qemu target needs a board")
        return self


class TargetSpec(BaseModel):
    """One sw/targets/<name>.json."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    description: str
    compiler: str
    cxx_compiler: str | None = None
    """The C++ compiler, used when the generated code is C++ (it brings a mcuorch.cmake)."""
    libc: Literal["picolibc", "host"]
    platform: Literal["semihost", "htif", "etiss", "pk"] = "semihost"
    """How the program reaches its simulator: Arm/RISC-V semihosting, Spike's HTIF, ETISS's
    logger, or (a user-mode program) the system calls of Spike's proxy kernel pk."""
    c_flags: list[str]
    link_flags: list[str]
    default_arch: str
    arch_variants: dict[str, ArchVariant]
    memory: MemoryMap
    run: RunSpec
    timeout_sec: float = Field(gt=0)

    @model_validator(mode="after")
    def _default_exists(self) -> TargetSpec:
        if self.default_arch not in self.arch_variants:
            raise ValueError(f"default_arch {self.default_arch!r} is not among arch_variants")
        return self

    def variant(self, arch: str | None = None, abi: str | None = None) -> tuple[str, ArchVariant]:
        """The arch variant for --arch/--abi, with the same rules as sw/cmake/target.cmake."""
        name = arch or self.default_arch
        found = self.arch_variants.get(name)
        if found is None:
            known = ", ".join(self.arch_variants)
            raise TargetError(f"target {self.name} has no arch '{name}' (known: {known})")
        if abi and abi != found.abi:
            raise TargetError(f"arch {name} of target {self.name} uses abi '{found.abi}', not '{abi}'")
        return name, found


class CompiledTarget(TargetSpec):
    """COMPILE's OUT/target.json: the target file plus the choices the build made."""

    arch: str
    abi: str
    optimize: Literal["2", "3", "s"]
    validation: Literal["exact", "atol", "argmax", "none"] = Field(alias="validate")
    atol: float

    @property
    def qemu_cpu(self) -> str | None:
        return self.arch_variants[self.arch].qemu_cpu


SpecT = TypeVar("SpecT", bound=TargetSpec)


def _load(model: type[SpecT], path: Path) -> SpecT:
    try:
        return model.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        detail = first_problem(exc) if isinstance(exc, ValidationError) else str(exc)
        raise TargetError(f"invalid target file {path}: {detail}") from None


def _targets_dir(sw_dir: Path | None) -> Path:
    return (sw_dir if sw_dir is not None else project_paths().sw) / "targets"


def target_names(sw_dir: Path | None = None) -> list[str]:
    """Targets the target software describes (sw/targets/*.json)."""
    return sorted(p.stem for p in _targets_dir(sw_dir).glob("*.json"))


def load_target(name: str, sw_dir: Path | None = None) -> TargetSpec:
    """sw/targets/<name>.json of the project checkout (or of `sw_dir`)."""
    path = _targets_dir(sw_dir) / f"{name}.json"
    if not path.is_file():
        raise TargetError(f"unknown target '{name}' (known: {', '.join(target_names(sw_dir))})")
    spec = _load(TargetSpec, path)
    if spec.name != name:
        raise TargetError(f"{path} names itself '{spec.name}'")
    return spec


def load_compiled_target(compile_out: Path) -> CompiledTarget:
    """Reads COMPILE's OUT/target.json."""
    return _load(CompiledTarget, compile_out / "target.json")
