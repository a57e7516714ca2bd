"""The source cache: fetch from a real git repository (file URL), import from mirror folders
(a made one and the shared mirror), verification and the one-line errors."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from orchestrator.environment import load_environment
from orchestrator.sources import SourceCache, SourceError, SourceMissingError, fetch_sources
from orchestrator.sources.fetch import image_source_pins, require_cached
from orchestrator.sources.manifest import read_manifest

REPO = Path(__file__).resolve().parents[2]
SHARED_SOURCES = REPO.parent / "shared" / "sources"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, list[str]]:
    """A git repository with two commits; returns (path, [first commit, second commit])."""
    repo = tmp_path / "upstream" / "Demo_Lib.git"
    repo.mkdir(parents=True)
    _git(repo, "init", "--quiet", "-b", "main")
    (repo / "README").write_text("first\n")
    _git(repo, "add", "README")
    _git(repo, "commit", "--quiet", "-m", "one")
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "README").write_text("second\n")
    _git(repo, "commit", "--quiet", "-am", "two")
    return repo, [first, _git(repo, "rev-parse", "HEAD")]


def _env(tmp_path: Path, url: str, commit: str, sha256: str | None = None, ref: str | None = None) -> Path:
    lines = ["name: srcs", "repos:", "  demo:", f"    url: {url}", f"    ref: '{ref or commit}'"]
    lines += [f"    commit: '{commit}'"] if ref else []
    lines += [f"    sha256: '{sha256}'"] if sha256 else []
    lines += ["images:", "  base:", "    recipe: base", "    sources: [demo]"]
    path = tmp_path / "srcs.yml.j2"
    path.write_text("\n".join(lines) + "\n")
    return path


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_fetch_from_git_pins_the_commit_and_is_cached(tmp_path: Path, upstream: tuple[Path, list[str]]) -> None:
    repo, (first, _second) = upstream
    env = load_environment(str(_env(tmp_path, f"file://{repo}", first)))
    cache = SourceCache(tmp_path / "cache")
    (result,) = fetch_sources(env, cache)
    assert result.outcome == "fetched" and result.entry.origin == "git"
    # the pinned (older) commit's tree, under the repository's own name
    assert _members(result.entry.archive) == {"demo_lib/README": b"first\n"}
    again = fetch_sources(env, cache)
    assert [r.outcome for r in again] == ["cached"]
    assert require_cached("demo", env.repos["demo"], cache, "srcs").sha256 == result.entry.sha256


def test_git_archive_differing_from_the_pin_is_noted_not_trusted_blindly(
        tmp_path: Path, upstream: tuple[Path, list[str]]) -> None:
    repo, (first, _) = upstream
    env = load_environment(str(_env(tmp_path, f"file://{repo}", first, sha256="0" * 64)))
    (result,) = fetch_sources(env, SourceCache(tmp_path / "cache"))
    assert "content verified by commit" in result.note


def test_unknown_commit_is_one_line_naming_repo_and_commit(tmp_path: Path, upstream: tuple[Path, list[str]]) -> None:
    repo, _ = upstream
    env = load_environment(str(_env(tmp_path, f"file://{repo}", "1" * 40)))
    with pytest.raises(SourceMissingError) as err:
        fetch_sources(env, SourceCache(tmp_path / "cache"))
    message = str(err.value)
    assert "\n" not in message and "demo:" in message and "1" * 40 in message


def test_tampered_cache_entry_is_an_error(tmp_path: Path, upstream: tuple[Path, list[str]]) -> None:
    repo, (first, _) = upstream
    env = load_environment(str(_env(tmp_path, f"file://{repo}", first)))
    cache = SourceCache(tmp_path / "cache")
    (result,) = fetch_sources(env, cache)
    result.entry.archive.write_bytes(b"not the archive")
    with pytest.raises(SourceError, match="delete it"):
        fetch_sources(env, cache)


def _mirror(tmp_path: Path, repo: Path, commit: str, *, corrupt: bool = False) -> tuple[Path, str]:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = mirror / "demo.tar.gz"
    _git(repo, "archive", "--format=tar.gz", "--prefix=demo/", "-o", str(archive), commit)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if corrupt:
        archive.write_bytes(archive.read_bytes()[:-10])
    header = "name\turl\tref\tcommit\tarchive\tsha256\tabsent\n"
    (mirror / "MANIFEST.tsv").write_text(header + f"demo\thttps://example.org/Demo_Lib.git\tv1.0\t{commit}\t"
                                                  f"demo.tar.gz\t{digest}\tbig.bin\n")
    return mirror, digest


def test_import_from_a_mirror_verifies_and_never_needs_the_network(
        tmp_path: Path, upstream: tuple[Path, list[str]]) -> None:
    repo, (first, _) = upstream
    mirror, digest = _mirror(tmp_path, repo, first)
    # the URL differs in case and suffix from the manifest's: the same repository
    env = load_environment(str(_env(tmp_path, "https://EXAMPLE.org/Demo_Lib", first, sha256=digest, ref="v1.0")))
    cache = SourceCache(tmp_path / "cache")
    (result,) = fetch_sources(env, cache, mirror_dir=mirror, offline=True)
    assert result.outcome == "imported" and result.entry.sha256 == digest
    assert "big.bin" in result.note
    assert _members(result.entry.archive) == {"demo/README": b"first\n"}


def test_mirror_problems_are_refused(tmp_path: Path, upstream: tuple[Path, list[str]]) -> None:
    repo, (first, second) = upstream
    mirror, digest = _mirror(tmp_path, repo, first, corrupt=True)
    url = "https://example.org/Demo_Lib.git"
    cache = SourceCache(tmp_path / "cache")
    env = load_environment(str(_env(tmp_path, url, first, sha256=digest)))
    with pytest.raises(SourceError, match="the mirror is damaged"):
        fetch_sources(env, cache, mirror_dir=mirror, offline=True)
    env = load_environment(str(_env(tmp_path, url, second)))
    with pytest.raises(SourceMissingError, match=f"{second} is not in .*mirror.*sources fetch --env srcs"):
        fetch_sources(env, cache, mirror_dir=mirror, offline=True)
    with pytest.raises(SourceError, match="has no MANIFEST.tsv"):
        fetch_sources(env, cache, mirror_dir=tmp_path, offline=True)
    assert not list(cache.root.glob("*.tar.gz")) if cache.root.exists() else True


def test_pin_and_mirror_disagree(tmp_path: Path, upstream: tuple[Path, list[str]]) -> None:
    repo, (first, _) = upstream
    mirror, _digest = _mirror(tmp_path, repo, first)
    env = load_environment(str(_env(tmp_path, "https://example.org/Demo_Lib.git", first, sha256="f" * 64)))
    with pytest.raises(SourceError, match="the environment pins f{64}"):
        fetch_sources(env, SourceCache(tmp_path / "cache"), mirror_dir=mirror, offline=True)


@pytest.mark.skipif(not SHARED_SOURCES.is_dir(), reason="the shared source mirror is not beside the checkout")
def test_every_tumeda_pin_matches_the_shared_mirror(tmp_path: Path) -> None:
    """The environment's pins (url, commit, sha256) are exactly the mirror's archives."""
    env = load_environment("tumeda")
    manifest = read_manifest(SHARED_SOURCES)
    gits = {k: s for k, s in env.repos.items() if s.is_git}
    for key, source in gits.items():
        entry = manifest.find(source)
        assert entry is not None, key
        assert (entry.commit, entry.sha256) == (source.commit, source.sha256), key
    used = {k for image in env.images.values() for k in image.sources}
    cache = SourceCache(tmp_path / "cache")
    results = fetch_sources(env, cache, mirror_dir=SHARED_SOURCES, offline=True)
    assert {r.key for r in results} == used
    assert all(r.outcome == "imported" for r in results)


def test_missing_cache_entry_names_the_fix(tmp_path: Path) -> None:
    env = load_environment("tumeda")
    with pytest.raises(SourceMissingError) as err:
        require_cached("spike", env.repos["spike"], SourceCache(tmp_path / "none"), "tumeda")
    text = str(err.value)
    assert "riscv-isa-sim.git" in text and env.repos["spike"].commit in text  # type: ignore[operator]
    assert "mcuorch sources fetch --env tumeda" in text


def test_interrupted_store_leaves_nothing_that_looks_cached(tmp_path: Path, upstream: tuple[Path, list[str]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupted store leaves no half-written archive that would look cached."""
    repo, (first, _) = upstream
    env = load_environment(str(_env(tmp_path, f"file://{repo}", first)))
    cache = SourceCache(tmp_path / "cache")

    def broken(*_args: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "move", broken)
    with pytest.raises(OSError):
        fetch_sources(env, cache)
    assert list(cache.root.iterdir()) == []
    assert cache.lookup(env.repos["demo"]) is None


def test_pins_of_a_run_follow_its_images_and_their_parents(tmp_path: Path) -> None:
    commit = "c" * 40
    path = tmp_path / "p.yml.j2"
    path.write_text("name: p\nrepos:\n  lib:\n    url: https://example.org/lib.git\n"
                    f"    ref: v1\n    commit: '{commit}'\n"
                    "images:\n  base:\n    recipe: base\n  tools:\n    recipe: t\n    parent: base\n"
                    "    sources: [lib]\n  sim:\n    recipe: s\n    parent: tools\n  other:\n    recipe: o\n"
                    "    parent: base\n")
    env = load_environment(str(path))
    assert image_source_pins(env, ["sim", "other"]) == {"lib.commit": commit}
    assert image_source_pins(env, ["other", "base"]) == {}
