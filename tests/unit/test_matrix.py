"""Matrix expansion: products, generators with `_`, defaults, precedence and checking."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.errors import ConfigError, ModelNotFoundError
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from tests.conftest import TOY_ENV
from tests.unit.conftest import toy_registry


def _builder(env: str = "default") -> MatrixBuilder:
    return MatrixBuilder(load_environment(env), builtin_registry())


def test_product_of_models_backends_targets(models: Path) -> None:
    runs = _builder("tumeda").expand(MatrixRequest(models=["aww", "vww"], backends=["tflmi", "tvmaot"],
                                                    targets=["etiss_pulpino", "host_x86"]))
    assert len(runs) == 8
    assert [r.index for r in runs] == list(range(8))
    assert {(r.model.name, r.backend, r.target) for r in runs} == {
        (m, b, t) for m in ("aww", "vww") for b in ("tflmi", "tvmaot") for t in ("etiss_pulpino", "host_x86")}
    assert {r.platform for r in runs} == {"mlif"}


def test_defaults_fill_missing_flags(models: Path) -> None:
    (run,) = _builder().expand(MatrixRequest(models=["aww"]))
    assert (run.frontend, run.backend, run.platform, run.target) == ("tflite", "tvmaot", "mlif", "host_x86")


def test_platform_follows_the_target(models: Path, tmp_path: Path) -> None:
    env = tmp_path / "esp.yml.j2"
    env.write_text("extends: tumeda\nname: esp\nplatforms:\n  espidf:\ntargets:\n  esp32:\n")
    runs = _builder(str(env)).expand(MatrixRequest(models=["aww"], targets=["esp32", "spike"]))
    assert {r.target: r.platform for r in runs} == {"esp32": "espidf", "spike": "mlif"}
    with pytest.raises(ConfigError, match="supports target 'esp32'"):
        _builder(str(env)).expand(MatrixRequest(models=["aww"], targets=["esp32"], platforms=["mlif"]))


def test_feature_and_config_generators_with_none_mark(models: Path) -> None:
    request = MatrixRequest(models=["aww"], feature_gen=[["_"], ["validate"]],
                            config_gen=[["mlif.optimize=s"], ["_"], ["mlif.optimize=3", "mlif.atol=2"]])
    runs = _builder().expand(request)
    assert len(runs) == 6
    assert [r.features for r in runs] == [()] * 3 + [("validate",)] * 3
    assert [r.configs["mlif"].optimize for r in runs[:3]] == ["s", "2", "3"]
    assert runs[2].configs["mlif"].atol == 2
    assert runs[3].configs["mlif"].validate_outputs == "exact"   # set by the feature
    assert runs[0].configs["mlif"].validate_outputs == "exact"   # environment default
    assert type(runs[0].configs["mlif"])().validate_outputs == "none"  # component default


def test_precedence_default_env_feature_cli_gen(models: Path) -> None:
    builder = _builder()
    (run,) = builder.expand(MatrixRequest(models=["aww"]))
    assert run.configs["mlif"].optimize == "2"                  # environment config
    (run,) = builder.expand(MatrixRequest(models=["aww"], features=["validate"], config=["mlif.validate=argmax"]))
    assert run.configs["mlif"].validate_outputs == "argmax"     # -c beats the feature
    (run,) = builder.expand(MatrixRequest(models=["aww"], config=["mlif.optimize=3"],
                                          config_gen=[["mlif.optimize=s"]]))
    assert run.configs["mlif"].optimize == "s"                  # --config-gen beats -c
    assert run.config == {"mlif.optimize": "s", "mlif.validate": "exact"}


@pytest.mark.parametrize(("request_kwargs", "message"), [
    ({"backends": ["tflmi"]}, "unknown backend 'tflmi' for environment default; choose from: tvmaot"),
    ({"targets": ["spike"]}, "unknown target 'spike' for environment default; choose from: host_x86, mps2_an385"),
    ({"features": ["cmsisnn"]}, "unknown feature 'cmsisnn' for environment default; choose from: profile, trace, validate"),
    ({"feature_gen": [["validate", "usmp"]]}, "unknown feature 'usmp'"),
    ({"config": ["mlif.optimize=4"]}, "invalid value '4' for mlif.optimize: Input should be '2', '3' or 's'"),
    ({"config": ["mlif.optimise=s"]}, "unknown config key 'mlif.optimise'; valid keys for mlif: atol, optimize"),
    ({"config": ["tvm.opt_level=1"]}, "unknown component 'tvm' in config key 'tvm.opt_level'; choose from: "),
    ({"config": ["optimize"]}, "config 'optimize' must look like component.key=value"),
    ({"config_gen": [["riscv_qemu.arch=x86"]]}, "invalid value 'x86' for riscv_qemu.arch"),
    ({"config": ["filter_cols.keep=A", "filter_cols.drop=B"]}, "'keep' and 'drop' cannot both be set"),
    ({"postprocesses": ["visualize"]}, "unknown postprocess 'visualize'"),
])
def test_mistakes_are_one_clear_config_error(models: Path, request_kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _builder().expand(MatrixRequest(models=["aww"], **request_kwargs))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_feature_that_applies_to_nothing_is_an_error(models: Path) -> None:
    with pytest.raises(ConfigError, match="feature 'trace' does not apply"):
        _builder("tumeda").expand(MatrixRequest(models=["aww"], targets=["host_x86"], features=["trace"]))


def test_models_by_name_or_path(models: Path, tmp_path: Path) -> None:
    builder = _builder()
    single = tmp_path / "mine.tflite"
    single.write_bytes(b"TFL3")
    (run,) = builder.expand(MatrixRequest(models=[str(single)]))
    assert run.model.name == "mine" and run.model.path == single
    with pytest.raises(ModelNotFoundError, match="unknown model 'kws'; choose from: aww, ") as err:
        builder.expand(MatrixRequest(models=["kws"]))
    assert "vww" in str(err.value)  # MCUORCH_MODELS adds to the bundled models, it does not hide them
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        builder.expand(MatrixRequest(models=[str(tmp_path / "gone.tflite")]))


def test_plugin_components_expand(mcuorch_home: Path) -> None:
    runs = MatrixBuilder(load_environment(str(TOY_ENV)), toy_registry()).expand(MatrixRequest())
    assert [(r.model.name, r.backend, r.target) for r in runs] == [("toy_sum", "toycc", "toyhost")]
