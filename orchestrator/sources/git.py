"""Fetching a pinned commit from a git repository and archiving its tree.

Only the pinned commit is fetched (`--depth 1` by commit id, which hosting services allow),
falling back to a full fetch for servers that refuse unadvertised commits. Git checks every
object's hash, so the archive's content is exactly the commit's tree. The archive has the
mirror format: `git archive --format=tar.gz --prefix=<repo name>/ <commit>`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from orchestrator.environment import Source
from orchestrator.sources.cache import repo_name
from orchestrator.sources.errors import SourceError

GIT_TIMEOUT_SEC = 1800


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_SEC, check=False)
    except FileNotFoundError:
        raise SourceError("git is not installed: install it, or import archives with --from DIR") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"git {args[0]} timed out after {GIT_TIMEOUT_SEC} s") from None


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}"


def archive_from_git(source: Source, dest: Path) -> Path:
    """Fetch `source.commit` from `source.url` and write its tree as `dest` (a .tar.gz)."""
    if source.commit is None:
        raise SourceError(f"{source.url}: no commit pinned")
    with tempfile.TemporaryDirectory(prefix="mcuorch-git-") as tmp:
        repo = Path(tmp)
        for step in (["init", "--quiet"], ["remote", "add", "origin", source.url]):
            result = _git(step, repo)
            if result.returncode != 0:
                raise SourceError(f"git {step[0]} failed: {_last_line(result)}")
        shallow = _git(["fetch", "--quiet", "--depth", "1", "origin", source.commit], repo)
        if shallow.returncode != 0:
            full = _git(["fetch", "--quiet", "--tags", "origin"], repo)
            if full.returncode != 0:
                raise SourceError(f"git fetch failed: {_last_line(full)}")
        check = _git(["cat-file", "-t", source.commit], repo)
        if check.returncode != 0 or check.stdout.strip() != "commit":
            raise SourceError(f"the repository has no commit {source.commit}")
        prefix = f"{repo_name(source.url)}/"
        archived = _git(["archive", "--format=tar.gz", f"--prefix={prefix}", "-o", str(dest),
                         source.commit], repo)
        if archived.returncode != 0:
            raise SourceError(f"git archive failed: {_last_line(archived)}")
    return dest
