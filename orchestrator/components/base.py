"""Component base classes: what every frontend, backend, platform, target, feature and
postprocess declares.

A component is a small class with a pydantic config model (typed keys with defaults, each
marked as affecting outputs or not) and, for stage components, a method that turns a
`StageContext` into a `JobSpec` plus a collector that turns a finished job into metrics.
Components never execute anything themselves: the scheduler runs their job specs through a
runtime, so the same component works locally, in Docker and under the fake runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.components.facts import target_facts
from orchestrator.paths import ProjectPaths

if TYPE_CHECKING:
    from orchestrator.runspec import RunSpec

Metric = float | int | str | bool


class Stage(str, Enum):
    """Stages of a run, in execution order. POSTPROCESS runs on the host."""

    LOAD = "LOAD"
    BUILD = "BUILD"
    COMPILE = "COMPILE"
    RUN = "RUN"
    POSTPROCESS = "POSTPROCESS"

    @classmethod
    def jobs(cls) -> list[Stage]:
        """The stages that become jobs executed in images."""
        return [cls.LOAD, cls.BUILD, cls.COMPILE, cls.RUN]

    @classmethod
    def parse(cls, text: str) -> Stage:
        return cls(text.upper())


class Kind(str, Enum):
    """Component kinds; the values are the environment file's section names."""

    FRONTEND = "frontends"
    BACKEND = "backends"
    PLATFORM = "platforms"
    TARGET = "targets"
    FEATURE = "features"
    POSTPROCESS = "postprocesses"

    @property
    def singular(self) -> str:
        return self.value[:-1] if self is not Kind.POSTPROCESS else "postprocess"


def setting(default: Any, *, affects_outputs: bool = True, description: str = "", **constraints: Any) -> Any:
    """Declare a config key; `affects_outputs=False` keeps it out of job keys (e.g. timeouts)."""
    return Field(default, description=description,
                 json_schema_extra={"affects_outputs": affects_outputs}, **constraints)


class ComponentConfig(BaseModel):
    """Base of every component's config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @classmethod
    def keys(cls) -> dict[str, str]:
        """Config key as users write it (the alias, if any) → field name."""
        return {(info.alias or name): name for name, info in cls.model_fields.items()}

    @classmethod
    def output_keys(cls) -> list[str]:
        """Keys whose values can change a job's outputs (and so enter its key)."""
        keys = []
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("affects_outputs", True):
                keys.append(info.alias or name)
        return sorted(keys)

    def key_values(self) -> dict[str, Any]:
        """The output-affecting values by user-facing key, JSON-ready."""
        data = self.model_dump(mode="json", by_alias=True)
        return {k: data[k] for k in self.output_keys()}

    def values(self) -> dict[str, Any]:
        """Every value by user-facing key, JSON-ready."""
        return self.model_dump(mode="json", by_alias=True)


class StageConfig(ComponentConfig):
    """Config every stage component has: a wall-clock timeout that never enters job keys."""

    timeout_sec: float = setting(600.0, affects_outputs=False, gt=0,
                                 description="wall-clock limit of this component's stage job")


class JobSpec(BaseModel):
    """One argv to execute in one image: what a stage component asks the scheduler to run."""

    model_config = ConfigDict(frozen=True)

    image: str
    argv: list[str] = Field(min_length=1)
    inputs: list[Path] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    accepted_exit_codes: frozenset[int] = frozenset({0})
    timeout_sec: float = Field(gt=0)
    network: bool = False
    caches: list[Path] = Field(default_factory=list)
    """Writable folders shared between jobs whose contents never change a job's outputs
    (a compiler cache); mounted read-write, never part of a key."""


@dataclass(frozen=True)
class StageContext:
    """Everything a stage component may use to build its job spec."""

    run: RunSpec
    config: Mapping[str, ComponentConfig]
    inputs: Mapping[str, Path]
    out: Path
    project: ProjectPaths

    def cfg(self, name: str) -> Any:
        """The effective config of component `name` in this run."""
        return self.config[name]


@dataclass(frozen=True)
class FinishedJob:
    """A successfully finished (or cached) job, as collectors see it."""

    stage: Stage
    out: Path
    stdout: Path
    stderr: Path
    exit_code: int
    inputs: Mapping[str, Path] = field(default_factory=dict)


class Component:
    """Common declarations of every component."""

    kind: ClassVar[Kind]
    name: ClassVar[str]
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    description: ClassVar[str] = ""


class StageComponent(Component):
    """A component that contributes one stage job per run."""

    stage: ClassVar[Stage]
    Config: ClassVar[type[ComponentConfig]] = StageConfig

    def key_config(self, run: RunSpec) -> dict[str, dict[str, Any]]:
        """The config this stage reads, by component: it enters the job key."""
        return {self.name: run.configs[self.name].key_values()}

    def check_run(self, run: RunSpec) -> None:
        """Refuse a combination this component cannot build (ConfigError, one line), before
        anything runs; e.g. a kernel library the run's target has no use for."""

    def sources(self, run: RunSpec, project: ProjectPaths) -> dict[str, Path]:
        """Project files mounted into the job (e.g. `sw/`): their digests enter the key."""
        return {}

    def image(self, run: RunSpec, config: Mapping[str, ComponentConfig]) -> str:
        """The environment image name this stage runs in."""
        raise NotImplementedError(f"{type(self).__name__}.image")

    def job(self, ctx: StageContext) -> JobSpec:
        """The argv, mounts and limits of this stage for one run."""
        raise NotImplementedError(f"{type(self).__name__}.job")

    def collect(self, job: FinishedJob, ctx: StageContext) -> dict[str, Metric]:
        """Metrics parsed from the job's outputs (OUT/metrics.json is merged separately)."""
        return {}


class Frontend(StageComponent):
    """Turns a model file into the validated model, its metadata and golden vectors (LOAD)."""

    kind = Kind.FRONTEND
    stage = Stage.LOAD


class Backend(StageComponent):
    """Generates model code from the loaded model (BUILD)."""

    kind = Kind.BACKEND
    stage = Stage.BUILD
    framework: ClassVar[str] = ""
    needs_cxx: ClassVar[bool] = False
    """The generated code is C++: COMPILE runs in the target's `<toolchain>-cxx` image."""
    kernel_listing: ClassVar[str | None] = None
    """File of BUILD's outputs listing the kernel calls in order (`steps` with kernel symbol,
    layer name, op, MACs, shapes), what `-f profile` names its events by; None: no listing."""
    exact_validation_as: ClassVar[str | None] = None
    """None: outputs are bit-exact with TFLite-Micro's reference kernels. Otherwise the validation
    mode an `exact` request is checked with (e.g. `argmax`: float softmax drifts by tens of steps)."""


class Platform(StageComponent):
    """Builds the target software around generated code with the target's toolchain (COMPILE)."""

    kind = Kind.PLATFORM
    stage = Stage.COMPILE

    def key_config(self, run: RunSpec) -> dict[str, dict[str, Any]]:
        """The platform's own config plus the target's compile-time keys (not its RUN keys)."""
        target_values = run.configs[run.target].key_values()
        compile_keys = run.target_component.compile_keys
        return {self.name: run.configs[self.name].key_values(),
                run.target: {k: v for k, v in target_values.items() if k in compile_keys}}

    def supports(self, target: str) -> bool:
        """Whether this platform can build for `target`."""
        return True


class Target(StageComponent):
    """Runs the program on a simulator or the host (RUN) and knows its toolchain facts."""

    kind = Kind.TARGET
    stage = Stage.RUN
    toolchain_image: ClassVar[str] = ""
    run_image: ClassVar[str] = ""
    compile_keys: ClassVar[frozenset[str]] = frozenset()
    """Config keys that change how the program is compiled (enter COMPILE keys)."""

    def image(self, run: RunSpec, config: Mapping[str, ComponentConfig]) -> str:
        return self.run_image

    def compile_args(self, config: ComponentConfig) -> list[str]:
        """Extra platform arguments this target needs (e.g. `--arch`, `--abi`)."""
        return []

    def compile_image(self, config: ComponentConfig) -> str:
        """The image COMPILE runs in: the target's toolchain image, or the one an arch variant's
        `model_compiler` names (sw/targets/<target>.json)."""
        return self.toolchain_image

    def isa(self, config: ComponentConfig) -> str | None:
        """The instruction set the program is compiled for, as code generators name it
        (`cortex-m55+mve`, `cortex-m4+dsp`, ...): `isa` of the default arch variant in
        sw/targets/<target>.json; None when the target software does not state one."""
        facts = target_facts(self.sw_target(config))
        variant = facts.get("arch_variants", {}).get(facts.get("default_arch"), {})
        isa = variant.get("isa") if isinstance(variant, dict) else None
        return isa if isinstance(isa, str) else None

    def extra_inputs(self, run: RunSpec) -> list[Stage]:
        """Stages besides COMPILE whose outputs this run's RUN job reads (e.g. BUILD's kernel
        listing for a profile); they enter the job's key only when listed."""
        return []

    def sw_target(self, config: ComponentConfig) -> str:
        """The target software's `sw/targets/<name>.json` the program is built for (and its ELF
        measured by): the target's own name unless a config key selects another system."""
        return self.name


class Feature(Component):
    """Adjusts config: `sets` maps `component.key` to a value, applied where the component runs."""

    kind = Kind.FEATURE
    sets: ClassVar[dict[str, Any]] = {}

    def settings(self, run_components: set[str]) -> dict[str, Any]:
        """The subset of `sets` that applies to a run using `run_components`."""
        return {k: v for k, v in self.sets.items() if k.split(".", 1)[0] in run_components}


class Postprocess(Component):
    """Transforms the session's report DataFrame on the host."""

    kind = Kind.POSTPROCESS

    def apply(self, df: Any, config: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.apply")
