"""Environment rendering and validation, including malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components.registry import builtin_registry
from orchestrator.config import check_environment
from orchestrator.environment import list_environments, load_environment, parse_environment, resolve_environment
from orchestrator.errors import ConfigError, EnvironmentFileError


def _write(tmp_path: Path, text: str, name: str = "e.yml.j2") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_environments_render_validate_and_match_components(mcuorch_home: Path) -> None:
    names = {f.name for f in list_environments()}
    assert {"default", "tumeda"} <= names
    registry = builtin_registry()
    default = load_environment("default")
    check_environment(default, registry)
    assert set(default.targets) == {"host_x86", "riscv_qemu", "mps3_an547", "mps2_an386", "mps2_an385"}
    assert (default.defaults.backend, default.defaults.target) == ("tvmaot", "host_x86")
    tumeda = load_environment("tumeda")
    check_environment(tumeda, registry)
    assert tumeda.repos["tvm"].commit == "91f191382661b70863f8e9348158303f5e878ce9"
    assert tumeda.repos["etiss"].commit == "4d2d26fb1fdb17e1da3a397c35d6f8877bf3ceab"
    assert tumeda.repos["cmsisnn"].ref == "v6.0.0"
    assert tumeda.repos["cmsisnn"].commit == "69823017d0973440e311dcf900b2162b17609fb0"
    assert {"tflmi", "tflmc", "tvmaot"} <= set(tumeda.backends)
    assert {"spike", "etiss_pulpino", "etiss", "riscv_qemu", "host_x86"} <= set(tumeda.targets)
    assert set(tumeda.features) >= {"validate", "debug", "trace", "cmsisnn", "muriscvnn"}
    assert tumeda.images.keys() >= default.images.keys()  # extends default
    for source in tumeda.repos.values():  # every git source is pinned by a full commit + archive digest
        assert source.is_git is (source.commit is not None)
        assert source.sha256 is not None


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ndescription: d\n\nimagez: {}\n")
    with pytest.raises(EnvironmentFileError) as err:
        load_environment(str(path))
    assert str(err.value) == f"{path}: line 4: unknown key 'imagez'"


def test_nested_unknown_key_and_branch_ref(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nbase:\n  pull: a\n  suit: bookworm\n")
    with pytest.raises(EnvironmentFileError, match=r"line 4: unknown key 'suit' in base"):
        load_environment(str(path))
    path = _write(tmp_path, "name: x\nrepos:\n  tvm:\n    url: u.git\n    ref: main\n")
    with pytest.raises(EnvironmentFileError, match=r"line 3: repos.tvm: ref 'main' is not a full commit"):
        load_environment(str(path))
    commit = "a" * 40
    path = _write(tmp_path, f"name: x\nrepos:\n  t:\n    url: u.git\n    ref: {'b' * 40}\n    commit: {commit}\n")
    with pytest.raises(EnvironmentFileError, match="disagree"):
        load_environment(str(path))
    path = _write(tmp_path, "name: x\nimages:\n  i:\n    recipe: r\n    sources: [nope]\n")
    with pytest.raises(EnvironmentFileError, match=r"images.i.sources: 'nope' is not in repos"):
        load_environment(str(path))


def test_yaml_and_template_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentFileError, match=r"line \d+: "):
        load_environment(str(_write(tmp_path, "name: x\nrepos: [\n")))
    with pytest.raises(EnvironmentFileError, match="'nope' is undefined"):
        load_environment(str(_write(tmp_path, "name: {{ nope }}\n")))
    with pytest.raises(EnvironmentFileError, match="not a YAML mapping"):
        load_environment(str(_write(tmp_path, "- a\n")))


def test_template_renders_in_a_sandbox(tmp_path: Path) -> None:
    text = "name: x\ndescription: {{ 'a' ~ 'b' }}\n{% set n = 2 %}config: {}\n"
    env = load_environment(str(_write(tmp_path, text)))
    assert env.description == "ab"
    with pytest.raises(EnvironmentFileError):  # the sandbox refuses attribute access to internals
        load_environment(str(_write(tmp_path, "name: {{ ''.__class__.__mro__ }}\n")))


def test_references_are_checked(tmp_path: Path) -> None:
    bad_parent = "name: x\nimages:\n  a:\n    recipe: a\n    parent: missing\n"
    with pytest.raises(EnvironmentFileError, match="unknown image 'missing'"):
        parse_environment(bad_parent, Path("f"))
    bad_config = "name: x\nconfig:\n  mlif.optimize: s\n"
    with pytest.raises(EnvironmentFileError, match="component 'mlif' is not enabled"):
        parse_environment(bad_config, Path("f"))
    bad_default = "name: x\nbackends:\n  tvmaot:\ndefaults:\n  backend: tflmi\n"
    with pytest.raises(EnvironmentFileError, match="backend 'tflmi' is not enabled"):
        parse_environment(bad_default, Path("f"))


def test_component_defaults_are_validated_against_components() -> None:
    env = parse_environment("name: x\ntargets:\n  riscv_qemu:\n    arch: x86\n", Path("f"))
    with pytest.raises(ConfigError, match="riscv_qemu.arch"):
        check_environment(env, builtin_registry())


def test_selection_by_name_path_and_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "name: mine\n", "mine.yml.j2")
    assert resolve_environment(str(path)) == path.resolve()
    monkeypatch.setenv("MCUORCH_ENV", "tumeda")
    assert resolve_environment(None).name == "tumeda.yml.j2"
    with pytest.raises(EnvironmentFileError, match="unknown environment 'nope'; choose from: .*default"):
        resolve_environment("nope")
    with pytest.raises(EnvironmentFileError, match="does not exist"):
        resolve_environment(str(tmp_path / "missing.yml.j2"))


def test_user_environments_live_under_the_home(mcuorch_home: Path) -> None:
    (mcuorch_home / "environments").mkdir(parents=True)
    (mcuorch_home / "environments" / "lab.yml.j2").write_text("name: lab\n")
    assert load_environment("lab").name == "lab"


def test_extends_merges_over_the_parent(mcuorch_home: Path, tmp_path: Path) -> None:
    child = _write(tmp_path, "extends: default\nname: mine\nconfig:\n  mlif.optimize: s\n"
                             "targets:\n  riscv_qemu:\n    arch: rv32imc\n    abi: ilp32\n")
    env = load_environment(str(child))
    default = load_environment("default")
    assert env.name == "mine"
    assert env.config["mlif.optimize"] == "s"
    assert env.targets["riscv_qemu"]["arch"] == "rv32imc"
    assert set(env.targets) == set(default.targets)  # merged, not replaced
    assert env.images == default.images


def test_extends_cycles_and_unknown_parents_are_one_clear_error(mcuorch_home: Path, tmp_path: Path) -> None:
    _write(tmp_path, "extends: b.yml.j2\nname: a\n", "a.yml.j2")
    b = _write(tmp_path, "extends: a.yml.j2\nname: b\n", "b.yml.j2")
    with pytest.raises(EnvironmentFileError, match="cycle"):
        load_environment(str(b))
    orphan = _write(tmp_path, "extends: nowhere\nname: c\n", "c.yml.j2")
    with pytest.raises(EnvironmentFileError, match="unknown environment 'nowhere'"):
        load_environment(str(orphan))
