"""Features: named config adjustments (MLonMCU's `-f NAME`).

A feature sets `component.key` values for the components of a run it applies to. Its values
override the environment's config and are overridden by `-c` and `--config-gen`, so a user can
still tune what a feature switched on. A feature that sets nothing for a run is an error.
"""

from __future__ import annotations

from typing import Any

from orchestrator.components.base import Feature

_RISCV_SIMULATORS = ("etiss", "etiss_pulpino", "spike")
_TVM = ("tvmaot", "tvmaotplus", "tvmrt")
_TFLM = ("tflmi", "tflmc")
_QEMU = ("riscv_qemu", "mps3_an547", "mps2_an386", "mps2_an385")


def _feature(name: str, description: str, sets: dict[str, Any]) -> type[Feature]:
    """A Feature class from its table entry."""
    return type(f"{name.title().replace('_', '')}Feature", (Feature,),
                {"name": name, "description": description, "sets": sets, "__doc__": description})


def _on(components: tuple[str, ...], key: str, value: Any) -> dict[str, Any]:
    return {f"{c}.{key}": value for c in components}


ALL: list[type[Feature]] = [
    _feature("validate", "compare outputs with the golden vectors on the target",
             {"mlif.validate": "exact", "espidf.validate": True}),
    _feature("debug", "debug build of the target software (ESP-IDF; sw/compile.sh has no debug mode yet)",
             {"espidf.debug": True}),
    _feature("trace", "memory trace (ETISS, QEMU targets): RAM stack and RAM heap columns, on QEMU also "
             "Arena Touched", _on(("etiss", "etiss_pulpino", *_QEMU), "trace_memory", True)),
    _feature("cmsisnn", "Arm CMSIS-NN kernels",
             {**_on(_TFLM, "kernels", "cmsisnn"), **_on(_TVM, "kernels", "cmsisnn")}),
    _feature("muriscvnn", "muRISCV-NN kernels (RISC-V)",
             {**_on(_TFLM, "kernels", "muriscvnn"), **_on(_TVM, "kernels", "muriscvnn")}),
    _feature("usmp", "TVM unified static memory planner", _on(("tvmaot", "tvmaotplus"), "usmp", True)),
    _feature("unpacked_api", "TVM unpacked kernel API", _on(("tvmaot", "tvmaotplus"), "unpacked_api", True)),
    _feature("profile", "per-kernel instructions of the Run region (QEMU targets): profile.json, a Chrome "
             "trace; columns Top Kernel, Top Kernel Share [%]; `mcuorch profile RUN`",
             _on(_QEMU, "profile", True)),
    _feature("vext", "RISC-V vector extension", _on(_RISCV_SIMULATORS, "vext", True)),
    _feature("pext", "RISC-V packed SIMD extension", _on(_RISCV_SIMULATORS, "pext", True)),
]
