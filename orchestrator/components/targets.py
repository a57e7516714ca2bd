"""Targets (RUN): run the compiled program on a simulator or the host.

A target also carries the toolchain facts its platform needs: which image compiles for it and
which extra arguments (architecture, ABI) the platform passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import field_validator

from orchestrator.components import collectors
from orchestrator.components.base import (
    ComponentConfig,
    FinishedJob,
    JobSpec,
    Metric,
    Stage,
    StageConfig,
    StageContext,
    Target,
    setting,
)
from orchestrator.components.facts import target_facts
from orchestrator.errors import CollectError, ConfigError
from orchestrator.metrics.elf_memory import ElfMetricsError
from orchestrator.metrics.rom_symbols import function_names
from orchestrator.profile.listing import load_listing
from orchestrator.profile.outputs import write_profile

if TYPE_CHECKING:
    from orchestrator.runspec import RunSpec


class TargetConfig(StageConfig):
    timeout_sec: float = setting(120.0, affects_outputs=False, gt=0)


class RiscvConfig(TargetConfig):
    arch: str = setting("rv32gc", pattern=r"^rv32[a-z_]+$", description="-march of the toolchain")
    abi: str | None = setting(None, pattern=r"^ilp32[fde]?$",
                              description="-mabi of the toolchain (default: the one the arch variant uses)")
    vext: bool = setting(False, description="RISC-V vector extension")
    pext: bool = setting(False, description="RISC-V packed SIMD extension")


class RiscvTarget(Target):
    """Compile arguments shared by every RISC-V target."""

    Config: ClassVar[type[ComponentConfig]] = RiscvConfig
    toolchain_image = "gnu-riscv"
    compile_keys = frozenset({"arch", "abi", "vext", "pext"})

    def march(self, cfg: RiscvConfig) -> str:
        return cfg.arch + ("v" if cfg.vext else "") + ("p" if cfg.pext else "")

    def compile_args(self, config: ComponentConfig) -> list[str]:
        cfg: RiscvConfig = config  # type: ignore[assignment]
        return ["--arch", self.march(cfg), *(["--abi", cfg.abi] if cfg.abi else [])]

    def isa(self, config: ComponentConfig) -> str | None:
        return self.march(config)  # type: ignore[arg-type]

    def compile_image(self, config: ComponentConfig) -> str:
        variants = target_facts(self.sw_target(config)).get("arch_variants", {})
        variant = variants.get(self.march(config), {})  # type: ignore[arg-type]
        compiler = variant.get("model_compiler") if isinstance(variant, dict) else None
        return compiler["image"] if isinstance(compiler, dict) else self.toolchain_image


def _elf(ctx: StageContext) -> str:
    return str(ctx.inputs[Stage.COMPILE.value] / "app.elf")


class RunnerTarget(Target):
    """RUN through an image-side runner: `<command> ... --out OUT` writes `OUT/stdout.txt` and
    `OUT/exit_code` (the program's) and exits 0 when the program ran to its end."""

    command: ClassVar[str]
    counts_file: ClassVar[str | None] = None

    def run_options(self, ctx: StageContext) -> list[str]:
        return ["--elf", _elf(ctx)]

    def job(self, ctx: StageContext) -> JobSpec:
        cfg = ctx.cfg(self.name)
        argv = [self.command, *self.run_options(ctx), "--out", str(ctx.out)]
        return JobSpec(image=self.run_image, argv=argv, inputs=[ctx.inputs[Stage.COMPILE.value]],
                       timeout_sec=cfg.timeout_sec)

    def collect(self, job: FinishedJob, ctx: StageContext) -> dict[str, Metric]:
        exit_file, stdout = job.out / "exit_code", job.out / "stdout.txt"
        code = exit_file.read_text().strip() if exit_file.is_file() else ""
        if not code.lstrip("-").isdigit():
            raise CollectError("the runner wrote no program exit code")
        text = stdout.read_text(errors="replace") if stdout.is_file() else ""
        counts = job.out / self.counts_file if self.counts_file else None
        return collectors.run_metrics(text, int(code), counts, self.name)


class QemuConfig(TargetConfig):
    profile: bool = setting(False, description="per-kernel instruction profile of the Run region "
                                               "(profile.json, a Chrome trace; the feature `profile`)")
    trace_memory: bool = setting(False, description="memory trace in the plugin → RAM stack, RAM heap, "
                                                    "Arena Touched (the feature `trace`)")


def _listing(run: RunSpec) -> str | None:
    return run.backend_component.kernel_listing


class QemuTarget(RunnerTarget):
    """QEMU boards through `mcuorch-qemu-run` with the instruction-count plugin; with `profile`
    the plugin also counts per kernel function (named by the BUILD's kernel listing, which the
    RUN job then reads) and the collector writes profile.json; with `trace_memory` it also
    summarises loads and stores (counts.json's `memtrace`, read by metrics/counts.py)."""

    board: ClassVar[str]
    run_image = "qemu"
    command = "mcuorch-qemu-run"
    counts_file = "counts.json"

    def cpu(self, cfg: ComponentConfig) -> str | None:
        return None

    def extra_inputs(self, run: RunSpec) -> list[Stage]:
        return [Stage.BUILD] if run.configs[self.name].profile else []  # type: ignore[attr-defined]

    def check_run(self, run: RunSpec) -> None:
        if run.configs[self.name].profile and _listing(run) is None:  # type: ignore[attr-defined]
            raise ConfigError(f"{self.name}.profile needs a backend whose BUILD lists its kernel calls "
                              f"(every C backend: tvmaot, tvmaotplus, tvmrt, tflmi, tflmc), not {run.backend}")

    def run_options(self, ctx: StageContext) -> list[str]:
        cpu = self.cpu(ctx.cfg(self.name))
        argv = ["--board", self.board, "--elf", _elf(ctx), *(["--cpu", cpu] if cpu else [])]
        if ctx.cfg(self.name).trace_memory:
            argv.append("--trace-memory")
        if ctx.cfg(self.name).profile:
            argv += ["--profile-functions", ",".join(self._functions_in_elf(ctx))]
        return argv

    @staticmethod
    def _listing_path(ctx: StageContext) -> Path:
        return ctx.inputs[Stage.BUILD.value] / str(_listing(ctx.run))

    def _functions_in_elf(self, ctx: StageContext) -> list[str]:
        """The listing's kernel functions for the runner, without the inlinable ones the compiler
        inlined away (no symbol in the ELF; the summary then names them as inlined)."""
        listing = load_listing(self._listing_path(ctx))
        if any(step.inlinable for step in listing.steps):
            try:
                listing, _ = listing.without_inlined(function_names(Path(_elf(ctx))))
            except ElfMetricsError as exc:
                raise CollectError(f"profile: {exc}") from None
        return listing.functions()

    def job(self, ctx: StageContext) -> JobSpec:
        spec = super().job(ctx)
        if not ctx.cfg(self.name).profile:
            return spec
        return spec.model_copy(update={"inputs": [*spec.inputs, ctx.inputs[Stage.BUILD.value]]})

    def collect(self, job: FinishedJob, ctx: StageContext) -> dict[str, Metric]:
        metrics = super().collect(job, ctx)
        if ctx.cfg(self.name).profile:
            title = f"{ctx.run.model.name} {ctx.run.backend} {ctx.run.target}"
            summary = write_profile(job.out / self.counts_file, load_listing(self._listing_path(ctx)), job.out, title)
            metrics.update(summary.columns())
        return metrics


def memory_segments(target: str) -> list[tuple[int, int]]:
    """(origin, length) of the target's flash and RAM, from sw/targets/<target>.json: a
    simulator is given the memory the target software was linked for."""
    memory = target_facts(target)["memory"]
    return [(int(memory[part]["origin"], 16), int(memory[part]["length"], 16)) for part in ("flash", "ram")]


def known_variant(target: str, arch: str) -> str:
    """Only the variants sw/targets/<target>.json can build (and its simulator can run)."""
    variants = sorted(target_facts(target).get("arch_variants", {}))
    if arch not in variants:
        raise ValueError(f"unknown arch {arch!r}; choose from: {', '.join(variants)}")
    return arch


class RiscvQemuConfig(RiscvConfig, QemuConfig):
    @field_validator("arch")
    @classmethod
    def _known_variant(cls, arch: str) -> str:
        return known_variant("riscv_qemu", arch)


class RiscvQemu(QemuTarget, RiscvTarget):
    """QEMU RISC-V `virt` board (rv32), exact instruction counts from the TCG plugin."""

    Config = RiscvQemuConfig
    name = "riscv_qemu"
    board = "virt"
    description = "QEMU riscv32 virt board"

    def cpu(self, cfg: ComponentConfig) -> str | None:
        """QEMU's `-cpu` for the configured architecture, from sw/targets/riscv_qemu.json."""
        variants = target_facts(self.name).get("arch_variants", {})
        return variants.get(cfg.arch, {}).get("qemu_cpu")  # type: ignore[attr-defined]


class ArmQemu(QemuTarget):
    Config = QemuConfig
    toolchain_image = "gnu-arm"


class Mps3An547(ArmQemu):
    """Arm MPS3 AN547 (Corstone-300 FPGA image): Cortex-M55 with MVE."""

    name = "mps3_an547"
    board = "mps3-an547"
    description = "QEMU MPS3 AN547, Cortex-M55"


class Mps2An386(ArmQemu):
    """Arm MPS2 AN386: Cortex-M4F."""

    name = "mps2_an386"
    board = "mps2-an386"
    description = "QEMU MPS2 AN386, Cortex-M4F"


class Mps2An385(ArmQemu):
    """Arm MPS2 AN385: Cortex-M3, no FPU."""

    name = "mps2_an385"
    board = "mps2-an385"
    description = "QEMU MPS2 AN385, Cortex-M3"


class HostX86(Target):
    """The compiled program runs natively; the program's exit code is the job's."""

    name = "host_x86"
    Config = TargetConfig
    toolchain_image = "host"
    run_image = "host"
    description = "native Linux executable (wall-clock runtime, no instruction counts)"

    def job(self, ctx: StageContext) -> JobSpec:
        cfg = ctx.cfg(self.name)
        return JobSpec(image=self.run_image, argv=[_elf(ctx)], inputs=[ctx.inputs[Stage.COMPILE.value]],
                       accepted_exit_codes=collectors.PROGRAM_EXIT_CODES, timeout_sec=cfg.timeout_sec)

    def collect(self, job: FinishedJob, ctx: StageContext) -> dict[str, Metric]:
        text = job.stdout.read_text(errors="replace") if job.stdout.is_file() else ""
        return collectors.run_metrics(text, job.exit_code, None, self.name)


class EtissConfig(RiscvConfig):
    fclk: int = setting(100_000_000, gt=0, description="clock used for time estimates [Hz]")
    trace_memory: bool = setting(False, description="memory trace → RAM stack / RAM heap")
    trace_cap_mb: float = setting(64.0, gt=0, description="trace megabytes kept in the job's outputs")
    timeout_sec: float = setting(600.0, affects_outputs=False, gt=0)

    @field_validator("arch")
    @classmethod
    def _known_variant(cls, arch: str) -> str:
        return known_variant("etiss_pulpino", arch)


class Etiss(RunnerTarget, RiscvTarget):
    """ETISS instruction-set simulator (RV32IMACFD, GCC JIT), generic memory map."""

    name = "etiss"
    Config = EtissConfig
    run_image = "etiss"
    command = "mcuorch-etiss-run"
    variant: ClassVar[str] = "generic"
    description = "ETISS RISC-V simulator, generic system"

    def run_options(self, ctx: StageContext) -> list[str]:
        cfg: EtissConfig = ctx.cfg(self.name)  # type: ignore[assignment]
        memory = ",".join(f"0x{origin:x}:0x{length:x}" for origin, length in memory_segments(self.name))
        argv = ["--elf", _elf(ctx), "--variant", self.variant, "--memory", memory, "--isa", self.march(cfg),
                "--fclk", str(cfg.fclk), "--timeout", str(cfg.timeout_sec)]
        return argv + (["--trace-memory", "--trace-cap-mb", str(cfg.trace_cap_mb)] if cfg.trace_memory else [])

    def collect(self, job: FinishedJob, ctx: StageContext) -> dict[str, Metric]:
        """The harness's figures plus ETISS's own: its cycle estimate and, with the memory
        trace, the stack and heap high-water marks and the trace's size."""
        metrics = super().collect(job, ctx)
        figures = _json(job.out / "etiss.json")
        if "cycles" in figures:
            metrics["Total Cycles"] = int(figures["cycles"])
        memory = _json(job.out / "memory.json")
        for column in ("RAM stack", "RAM heap"):
            if column in memory:
                metrics[column] = int(memory[column])
        if "trace_bytes" in memory:
            metrics["Trace Size"] = int(memory["trace_bytes"])
        return metrics


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class EtissPulpino(Etiss):
    """ETISS with the PULPino memory map."""

    name = "etiss_pulpino"
    variant = "pulpino"
    description = "ETISS RISC-V simulator, PULPino memory map"


class SpikeConfig(RiscvConfig):
    pk: bool = setting(False, description="run as a user-mode program under Spike's proxy kernel pk "
                                          "(sw/targets/spike_pk.json) instead of bare metal over HTIF")
    timeout_sec: float = setting(600.0, affects_outputs=False, gt=0)

    @field_validator("arch")
    @classmethod
    def _known_variant(cls, arch: str) -> str:
        return known_variant("spike", arch)


class Spike(RunnerTarget, RiscvTarget):
    """Spike (riscv-isa-sim), bare metal over HTIF or, with `pk`, a user-mode program under the
    proxy kernel; exact instructions from instret markers either way."""

    name = "spike"
    Config = SpikeConfig
    run_image = "spike"
    command = "mcuorch-spike-run"
    compile_keys = RiscvTarget.compile_keys | {"pk"}
    description = "Spike RISC-V ISA simulator (rv32, bare metal over HTIF or user mode under pk)"

    def sw_target(self, config: ComponentConfig) -> str:
        """pk runs a program linked for its user address range: sw/targets/spike_pk.json."""
        return "spike_pk" if config.pk else self.name  # type: ignore[attr-defined]

    def run_options(self, ctx: StageContext) -> list[str]:
        """Spike's ISA string comes from the arch variant of the program's target file; bare
        metal, Spike gets the memory the program is linked for, under pk its default memory
        (pk maps the program's segments into user space itself)."""
        cfg: SpikeConfig = ctx.cfg(self.name)  # type: ignore[assignment]
        system = self.sw_target(cfg)
        facts = target_facts(system)
        isa = facts["arch_variants"][cfg.arch].get("spike_isa", cfg.arch)  # type: ignore[index]
        if cfg.vext or cfg.pext:
            isa = self.march(cfg)
        argv = ["--elf", _elf(ctx), "--isa", isa]
        if cfg.pk:
            argv.append("--pk")
        else:
            spans = memory_segments(system)
            start, end = min(o for o, _ in spans), max(o + n for o, n in spans)
            argv += ["--memory", f"0x{start:x}:0x{end - start:x}"]
        return argv + ["--timeout", str(cfg.timeout_sec)]


class Corstone300Config(TargetConfig):
    timeout_sec: float = setting(600.0, affects_outputs=False, gt=0)


class Corstone300(RunnerTarget):
    """Arm Corstone-300 FVP (Cortex-M55), cycles from DWT."""

    name = "corstone300"
    Config = Corstone300Config
    toolchain_image = "gnu-arm"
    run_image = "corstone300"
    command = "mcuorch-fvp-run"


class Esp32(RunnerTarget):
    """ESP32 (Xtensa) through ESP-IDF's QEMU."""

    name = "esp32"
    Config = TargetConfig
    toolchain_image = "espidf"
    run_image = "espidf"
    command = "mcuorch-espidf-run"

    def run_options(self, ctx: StageContext) -> list[str]:
        return ["--target", self.name, "--build", str(ctx.inputs[Stage.COMPILE.value])]


class Esp32c3(Esp32):
    """ESP32-C3 (RISC-V) through ESP-IDF's QEMU."""

    name = "esp32c3"


ALL = [RiscvQemu, Mps3An547, Mps2An386, Mps2An385, HostX86, Etiss, EtissPulpino, Spike, Corstone300,
       Esp32, Esp32c3]
