"""The microTVM backends without Docker: how the tumeda environment binds MLonMCU's names to the
fork's backends, their config checks, the command lines they produce, validation as `atol`, and
the image-side pieces of images/tumeda-tvm that need no TVM (tvmc's argv, the graph's memory
facts, the C glue). That the code they produce compiles and runs is tested with the real image
(tests/e2e/test_tumeda_tvm.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from orchestrator.components.base import Kind
from orchestrator.components.registry import builtin_registry
from orchestrator.config import environment_registry
from orchestrator.environment import load_environment
from orchestrator.errors import ConfigError
from orchestrator.matrix import MatrixBuilder, MatrixRequest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "images" / "tumeda-tvm"))
from mcuorch_microtvm import glue, listing, tvmc  # noqa: E402
from mcuorch_microtvm.errors import CodegenError  # noqa: E402


def runs(env: str, **request):
    return MatrixBuilder(load_environment(env), builtin_registry()).expand(MatrixRequest(models=["sine_model"], **request))


def test_tumeda_binds_mlonmcu_names_to_the_fork_and_keeps_ours_as_relaxaot() -> None:
    plan = runs("tumeda", backends=["tvmaot", "tvmaotplus", "tvmrt", "relaxaot"], targets=["spike"])
    images = {r.backend: r.backend_component.image(r, r.configs) for r in plan}
    assert images == {"tvmaot": "tumeda-tvm", "tvmaotplus": "tumeda-tvm", "tvmrt": "tumeda-tvm", "relaxaot": "tvm"}
    kinds = {r.backend: type(r.backend_component).__mro__[1].__name__ for r in plan}
    assert kinds == {"tvmaot": "MicroTvmAot", "tvmaotplus": "MicroTvmAotPlus", "tvmrt": "MicroTvmRt",
                     "relaxaot": "TvmAot"}


def test_default_keeps_tvmaot_as_the_relax_backend() -> None:
    (run,) = runs("default", backends=["tvmaot"], targets=["host_x86"])
    assert run.backend_component.image(run, run.configs) == "tvm"
    assert run.backend_component.exact_validation_as is None


def test_a_binding_to_an_unknown_component_is_one_clear_error() -> None:
    env = load_environment("tumeda").model_copy(update={"backends": {"tvmaot": {"component": "microtvm_nope"}}})
    with pytest.raises(ConfigError, match="backends.tvmaot.component: no backend component 'microtvm_nope'"):
        environment_registry(env, builtin_registry())


def build_argv(backend: str, config: list[str] | None = None, features: list[str] | None = None,
               targets: tuple[str, ...] = ("spike",)) -> list[str]:
    (run,) = runs("tumeda", backends=[backend], targets=list(targets), config=config or [], features=features or [])
    registry = environment_registry(load_environment("tumeda"), builtin_registry())
    component = registry.create(Kind.BACKEND, backend)
    return component.options(run.configs[backend])


def test_tvmaotplus_passes_its_own_defaults_explicitly() -> None:
    argv = build_argv("tvmaotplus")
    assert argv[:4] == ["--executor", "aot", "--target", "c"]
    assert "--usmp" in argv and "--unpacked-api" in argv


def test_tvmaot_with_features_usmp_and_unpacked_api() -> None:
    assert "--no-usmp" in build_argv("tvmaot") and "--no-unpacked-api" in build_argv("tvmaot")
    argv = build_argv("tvmaot", features=["usmp", "unpacked_api"])
    assert "--usmp" in argv and "--unpacked-api" in argv


def test_tvmrt_options_and_limits() -> None:
    argv = build_argv("tvmrt", config=["tvmrt.max_args=24", "tvmrt.desired_layout=NCHW",
                                       "tvmrt.disabled_passes=AlterOpLayout,FoldScaleAxis"])
    assert argv[:4] == ["--executor", "graph", "--target", "c"]
    assert argv[argv.index("--max-args") + 1] == "24"
    assert argv[argv.index("--desired-layout") + 1] == "NCHW"
    assert argv[argv.index("--disabled-passes") + 1] == "AlterOpLayout,FoldScaleAxis"


def test_tvmllvm_is_llvm_on_the_graph_executor_for_the_host_only() -> None:
    (run,) = runs("tumeda", backends=["tvmllvm"], targets=["host_x86"])
    assert run.backend_component.image(run, run.configs) == "tumeda-tvm"
    assert run.backend_component.exact_validation_as == "argmax"
    argv = build_argv("tvmllvm", targets=("host_x86",), config=["tvmllvm.opt_level=2"])
    assert argv[:4] == ["--executor", "graph", "--target", "llvm"]
    assert argv[argv.index("--opt-level") + 1] == "2" and "--usmp" not in argv and "--max-args" not in argv
    with pytest.raises(ConfigError, match="^tvmllvm compiles x86-64 code .* host_x86 only, not spike$"):
        runs("tumeda", backends=["tvmllvm"], targets=["host_x86", "spike"])
    with pytest.raises(ConfigError, match="unknown config key 'tvmllvm.usmp'"):
        runs("tumeda", backends=["tvmllvm"], targets=["host_x86"], config=["tvmllvm.usmp=1"])


@pytest.mark.parametrize(("item", "message"), [
    ("tvmaot.workspace_alignment=12", "must be a power of two"),
    ("tvmaot.usmp_algorithm=best", "usmp_algorithm"),
    ("tvmaot.disabled_passes=Alter;rm", "pass names separated by commas"),
    ("tvmrt.max_args=0", "max_args"),
    ("tvmrt.usmp=1", "unknown config key 'tvmrt.usmp'"),
    ("tvmaot.kernels=int", "unknown config key 'tvmaot.kernels'"),
])
def test_bad_keys_are_refused(item: str, message: str) -> None:
    backend = item.split(".")[0]
    with pytest.raises(ConfigError, match=message):
        runs("tumeda", backends=[backend], targets=["spike"], config=[item])


def test_exact_validation_is_checked_as_argmax_for_microtvm_only() -> None:
    from orchestrator.components.base import StageContext
    from orchestrator.paths import project_paths

    for backend, expected in (("tvmaot", ["--validate", "argmax"]), ("tflmi", ["--validate", "exact"])):
        (run,) = runs("tumeda", backends=[backend], targets=["spike"])
        ctx = StageContext(run=run, config=run.configs, inputs={"LOAD": Path("/l"), "BUILD": Path("/b")},
                           out=Path("/o"), project=project_paths())
        argv = run.components["platform"].job(ctx).argv
        at = argv.index("--validate")
        assert argv[at:at + len(expected)] == expected


# ---- image side (no TVM needed) ---------------------------------------------------------------

def test_tvmc_argv_follows_mlonmcu_per_executor(tmp_path: Path) -> None:
    aot = tvmc.argv(Path("m.tflite"), Path("o.tar"), tvmc.Options(executor="aot"))
    assert ["--executor-aot-interface-api", "packed"] == aot[aot.index("--executor-aot-interface-api"):][:2]
    assert "tir.usmp.enable=0" in aot and "--runtime-crt-system-lib" in aot
    plus = tvmc.argv(Path("m.tflite"), Path("o.tar"), tvmc.Options(executor="aot", unpacked_api=True, usmp=True,
                                                                   usmp_algorithm="hill_climb"))
    assert "c" == plus[plus.index("--executor-aot-interface-api") + 1]
    assert "tir.usmp.algorithm=hill_climb" in plus
    graph = tvmc.argv(Path("m.tflite"), Path("o.tar"), tvmc.Options(executor="graph"))
    assert graph[graph.index("--runtime-crt-system-lib") + 1] == "1"
    assert "--executor-graph-link-params" in graph
    llvm = tvmc.argv(Path("m.tflite"), Path("o.tar"), tvmc.Options(executor="graph", target="llvm"))
    assert llvm[llvm.index("--target") + 1] == "llvm" and llvm[llvm.index("--runtime") + 1] == "cpp"
    assert llvm[llvm.index("--runtime-cpp-system-lib") + 1] == "1"
    assert llvm[llvm.index("--output-format") + 1] == "mlf"
    assert not any("crt" in a or "tir.disable_vectorize" in a for a in llvm)


@pytest.mark.parametrize("options", [tvmc.Options(executor="graph", usmp=True),
                                     tvmc.Options(executor="graph", unpacked_api=True),
                                     tvmc.Options(executor="aot", workspace_alignment=6),
                                     tvmc.Options(executor="aot", target="llvm"),
                                     tvmc.Options(executor="graph", target="wasm")])
def test_tvmc_options_that_cannot_work_are_refused(options: tvmc.Options) -> None:
    with pytest.raises(CodegenError):
        options.check()


def test_error_line_picks_tvms_message_out_of_a_trace() -> None:
    stderr = "Traceback (most recent call last):\n  File \"x\", line 1\n    ...\n" \
             "tvm.error.OpNotImplemented: The following operators are not supported for frontend TFLite: 'X'\n"
    assert tvmc.error_line(stderr).startswith("tvm.error.OpNotImplemented: The following operators")


def test_graph_facts_size_storage_and_operator_arity(tmp_path: Path) -> None:
    graph = {
        "nodes": [{"op": "null", "name": "input_1", "inputs": []},
                  {"op": "tvm_op", "name": "f0", "inputs": [[0, 0, 0]], "attrs": {"num_outputs": "1"}},
                  {"op": "tvm_op", "name": "f1", "inputs": [[1, 0, 0], [0, 0, 0], [1, 0, 0]],
                   "attrs": {"num_outputs": "2"}}],
        "arg_nodes": [0],
        "attrs": {"storage_id": ["list_int", [0, 1, 0]], "shape": ["list_shape", [[1, 2000], [1, 10], [1, 4]]],
                  "dltype": ["list_str", ["int8", "float32", "int8"]]},
    }
    path = tmp_path / "default.graph"
    path.write_text(json.dumps(graph))
    facts = glue.graph_facts(path)
    assert facts.storage_bytes == 2000 + 40  # per storage id, its largest tensor
    assert facts.max_args == 6 and facts.nodes == 3  # 3 inputs + 2 outputs, and one more (the CRT's check)


def test_c_interface_glue_names_the_structs_fields(tmp_path: Path) -> None:
    header = tmp_path / "tvmgen_default.h"
    header.write_text("struct tvmgen_default_inputs {\n  void* serving_default_x_0;\n};\n"
                      "struct tvmgen_default_outputs {\n  void* Identity_0;\n};\n"
                      "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, "
                      "struct tvmgen_default_outputs* outputs);\n")
    meta = {"inputs": [{"name": "x", "shape": [1, 1], "dtype": "int8"}],
            "outputs": [{"name": "y", "shape": [1, 3], "dtype": "int8"}]}
    code = glue.aot_c_interface(meta, header, 16, 0)
    assert ".serving_default_x_0 = mcuorch_in0," in code and ".Identity_0 = mcuorch_out0," in code
    header.write_text(header.read_text().replace("outputs);", "outputs, struct tvmgen_default_workspace_pools* p);"))
    with pytest.raises(CodegenError, match="workspace pools"):
        glue.aot_c_interface(meta, header, 16, 0)


def test_llvm_glue_drives_the_cpp_graph_executor_through_the_c_api() -> None:
    graph = {"nodes": [{"op": "null", "name": "serving_default_x:0", "inputs": []},
                       {"op": "null", "name": "p0", "inputs": []}], "arg_nodes": [0, 1]}
    meta = {"inputs": [{"name": "x", "shape": [1, 1], "dtype": "int8"}],
            "outputs": [{"name": "y", "shape": [1, 3], "dtype": "float32"}]}
    code = glue.llvm_graph(meta, graph, 16)
    assert '"runtime.SystemLib"' in code and '"tvm.graph_executor.create"' in code
    assert 'args[0].v_str = "serving_default_x:0"' in code  # inputs by name, weights are linked in
    assert "p0" not in code.split("mcuorch_graph_json")[0]
    assert '#include <tvm/runtime/c_runtime_api.h>' in code and "crt" not in code
    with pytest.raises(CodegenError, match="the graph has 1 input"):
        glue.llvm_graph({**meta, "inputs": meta["inputs"] * 2}, {**graph, "arg_nodes": [0]}, 16)


AOT_MAIN = """
#include "tvmgen_default.h"
TVM_DLL int32_t tvmgen_default_fused_nn_conv2d_add(int8_t* p0, int8_t* out);
TVM_DLL int32_t tvmgen_default___tvm_main__(int8_t* input, int8_t* output);
TVM_DLL int32_t tvmgen_default_fused_nn_conv2d_add(int8_t* p0, int8_t* out) { return 0; }
/* tvmgen_default_fused_commented_out(x); */
TVM_DLL int32_t tvmgen_default___tvm_main__(int8_t* input, int8_t* output) {
  void* sid_1 = (&(global_workspace[0]));
  if (tvmgen_default_fused_nn_conv2d_add(input, sid_1) != 0 ) { return -1; }
  if (tvmgen_default_fused_reshape(sid_1, sid_1) != 0 ) { return -1; }
  if (tvmgen_default_fused_nn_conv2d_add(sid_1, output) != 0 ) { return -1; }
  return 0;
}
"""


def test_aot_listing_is_the_mains_calls_in_order(tmp_path: Path) -> None:
    (tmp_path / "default_lib0.c").write_text("/* constants only */ static int x[2] = {1, 2};")
    (tmp_path / "default_lib1.c").write_text(AOT_MAIN)
    calls = listing.aot_calls([tmp_path / "default_lib0.c", tmp_path / "default_lib1.c"])
    assert calls == ["tvmgen_default_fused_nn_conv2d_add", "tvmgen_default_fused_reshape",
                     "tvmgen_default_fused_nn_conv2d_add"]
    steps = listing.listing(calls)["steps"]
    assert [s["name"] for s in steps] == ["fused_nn_conv2d_add", "fused_reshape", "fused_nn_conv2d_add#2"]
    assert [s["op"] for s in steps] == ["nn.conv2d", "reshape", "nn.conv2d"]
    with pytest.raises(CodegenError, match="defines no tvmgen_default___tvm_main__"):
        listing.aot_calls([tmp_path / "default_lib0.c"])


def test_graph_listing_skips_inputs_and_nops() -> None:
    graph = {"nodes": [{"op": "null", "name": "input"},
                       {"op": "tvm_op", "attrs": {"func_name": "tvmgen_default_fused_nn_contrib_dense_pack_add"}},
                       {"op": "tvm_op", "attrs": {"func_name": "__nop"}},
                       {"op": "tvm_op", "attrs": {"func_name": "tvmgen_default_fused_nn_softmax"}}]}
    assert listing.graph_calls(graph) == ["tvmgen_default_fused_nn_contrib_dense_pack_add",
                                          "tvmgen_default_fused_nn_softmax"]
    assert listing.leading_operator("tvmgen_default_fused_nn_contrib_dense_pack_add") == "nn.contrib_dense_pack"
    assert listing.leading_operator("tvmgen_default_fused_addition_of_sorts") is None
    with pytest.raises(CodegenError, match="calls no operator function"):
        listing.listing([])
