"""Content tags: computed without building, stable, and moved by every input that matters."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.environment import Environment, load_environment
from orchestrator.images.context import BuildSettings, build_context
from orchestrator.images.errors import RecipeError
from orchestrator.images.tags import resolve_images

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def recipes(tmp_path: Path) -> Path:
    """A private copy of images/ so tests can change recipes."""
    target = tmp_path / "images"
    shutil.copytree(PROJECT / "images", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def env() -> Environment:
    return load_environment("default")


def tags(env: Environment, recipes: Path) -> dict[str, str]:
    images = resolve_images(env, client=None, recipes_dir=recipes, namespace="mcuorch")
    return {name: image.tag for name, image in images.images.items()}


def with_changes(env: Environment, **sections: object) -> Environment:
    data = env.model_dump()
    for dotted, value in sections.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return Environment.model_validate(data)


def test_tags_are_stable_and_name_every_image(env: Environment, recipes: Path) -> None:
    first = tags(env, recipes)
    assert set(first) == set(env.images)
    assert first == tags(env, recipes)
    for name, tag in first.items():
        assert tag.startswith(f"mcuorch/{name}:") and len(tag.rpartition(":")[2]) == 16


def test_a_recipe_file_moves_its_tag_and_its_descendants(env: Environment, recipes: Path) -> None:
    before = tags(env, recipes)
    (recipes / "buildtools" / "notes.txt").write_text("new file in the build context\n")
    after = tags(env, recipes)
    changed = {name for name in before if before[name] != after[name]}
    # qemu builds its plugin in the host image and tvm is host's child, so both follow host
    # (and host follows buildtools); llvm-riscv is gnu-riscv's child
    assert changed == {"buildtools", "gnu-riscv", "llvm-riscv", "gnu-arm", "host", "qemu", "tvm"}


def test_executable_bit_is_part_of_the_tag(env: Environment, recipes: Path) -> None:
    script = recipes / "base" / "bin" / "tool"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("#!/bin/sh\n")
    before = tags(env, recipes)["base"]
    script.chmod(0o755)
    assert tags(env, recipes)["base"] != before


def test_template_comments_do_not_move_tags(env: Environment, recipes: Path) -> None:
    before = tags(env, recipes)
    template = recipes / "host" / "Dockerfile.j2"
    template.write_text("{# a new comment #}\n" + template.read_text())
    assert tags(env, recipes) == before


def test_caches_do_not_move_tags(env: Environment, recipes: Path) -> None:
    before = tags(env, recipes)
    cache = recipes / "tflite" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    (recipes / "tflite" / "y.pyc").write_bytes(b"\0")
    assert tags(env, recipes) == before


def test_a_pin_moves_only_the_images_that_install_it(env: Environment, recipes: Path) -> None:
    before = tags(env, recipes)
    pins = dict(env.packages.apt)
    pins["qemu-system-arm"] = "1:7.2+dfsg-7+deb12u99"
    after = tags(with_changes(env, packages__apt=pins), recipes)
    assert {n for n in before if before[n] != after[n]} == {"qemu"}


def test_root_parameters_move_everything(env: Environment, recipes: Path) -> None:
    before = tags(env, recipes)
    after = tags(with_changes(env, base__mirror="http://mirror.example/debian"), recipes)
    assert all(before[n] != after[n] for n in before)


def test_ca_bundle_and_proxy_reach_the_context_but_not_the_tag(env: Environment, recipes: Path,
                                                               tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
    plain = BuildSettings.from_environ({})
    proxied = BuildSettings.from_environ({"PIP_CERT": str(ca), "HTTPS_PROXY": "http://proxy:3128"})
    assert proxied.ca_bundle == ca and proxied.proxy["HTTPS_PROXY"] == "http://proxy:3128"
    image = resolve_images(env, client=None, recipes_dir=recipes).get("base")
    assert build_context(image, plain) != build_context(image, proxied)
    assert build_context(image, plain) == build_context(image, plain)  # deterministic bytes
    assert b"fake" not in image.dockerfile.encode() and "proxy" not in image.dockerfile


def test_unpinned_package_is_one_clear_error(env: Environment, recipes: Path) -> None:
    pins = {k: v for k, v in env.packages.apt.items() if k != "cmake"}
    with pytest.raises(RecipeError, match="images.buildtools: apt package 'cmake' has no version"):
        tags(with_changes(env, packages__apt=pins), recipes)


def test_missing_recipe_folder_is_an_error(env: Environment, recipes: Path) -> None:
    shutil.rmtree(recipes / "host")
    with pytest.raises(RecipeError, match="recipe folder .*host does not exist"):
        tags(env, recipes)


def test_a_copied_folder_missing_from_the_recipe_is_an_error(recipes: Path) -> None:
    shutil.rmtree(recipes / "tumeda-tvm" / "unity")
    with pytest.raises(RecipeError, match="images.tumeda-tvm: the Dockerfile copies src/unity/ but "
                                          "the recipe folder has no unity"):
        tags(load_environment("tumeda"), recipes)


def test_every_recipe_file_is_committed() -> None:
    """A file an ignore rule hides exists in one checkout only; CI's clean clone lacks it."""
    if not (PROJECT / ".git").exists():
        pytest.skip("not a git checkout")
    hidden = subprocess.run(["git", "ls-files", "--others", "--ignored", "--exclude-standard",
                             "--", "images", "sw", "environments"],
                            cwd=PROJECT, capture_output=True, text=True, check=True).stdout.split()
    assert [p for p in hidden if "__pycache__" not in p and not p.endswith(".pyc")] == []


def test_images_using_each_other_is_an_error(env: Environment, recipes: Path) -> None:
    images = env.model_dump()["images"]
    images["qemu"]["args"]["builder"] = "qemu"
    if not list((recipes / "qemu" / "plugin").glob("*.c")):
        pytest.skip("the qemu recipe has no plugin sources, so it uses no builder image")
    with pytest.raises(RecipeError, match="depend on each other: qemu -> qemu"):
        tags(with_changes(env, images=images), recipes)


def test_closure_orders_parents_first(env: Environment, recipes: Path) -> None:
    images = resolve_images(env, client=None, recipes_dir=recipes)
    order = [i.name for i in images.closure(["qemu"])]
    assert order.index("base") < order.index("buildtools") < order.index("host") < order.index("qemu")
    assert "gnu-arm" not in order


@pytest.mark.parametrize("env_name", ["default", "tumeda"])
def test_dpkg_filters_are_files_dpkg_reads(env_name: str) -> None:
    """dpkg ignores configuration files whose names have other characters than letters,
    digits, `_` and `-` (a `+` in a package name would silently disable its filters)."""
    images = resolve_images(load_environment(env_name), client=None, namespace="mcuorch")
    seen = 0
    for image in images.images.values():
        for name in re.findall(r"/etc/dpkg/dpkg\.cfg\.d/(\S+)", image.dockerfile):
            assert re.fullmatch(r"[A-Za-z0-9_-]+", name), (image.name, name)
            seen += 1
    assert seen >= 2  # gnu-riscv and gnu-arm filter their packages


def test_arm_cxx_keeps_only_the_multilibs_it_names() -> None:
    image = resolve_images(load_environment("tumeda"), client=None, namespace="mcuorch").get("gnu-arm-cxx")
    text = image.dockerfile
    assert text.index("path-exclude=") < text.index("path-include=")
    for multilib in ("thumb/v7-m/nofp", "thumb/v7e-m+fp/hard", "thumb/v8-m.main+dp/hard"):
        assert f"'/usr/lib/picolibc/arm-none-eabi/lib/{multilib}/lib*'" in text
        assert f"'/usr/include/newlib/c++/*/arm-none-eabi/{multilib}/*'" in text
