"""Where things live: the project checkout (environments, images, sw, models) and the state home.

The project root is the checkout the package runs from (an editable install), else the copy a
wheel carries as package data (`orchestrator/_data`: environments, image recipes, target
software, bundled models); `MCUORCH_PROJECT` overrides both. State (job store, sessions, results) lives under
`MCUORCH_HOME`, by default the platform's user data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class ProjectPaths:
    """Folders of the project checkout that components and runtimes read."""

    root: Path

    @property
    def environments(self) -> Path:
        return self.root / "environments"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def sw(self) -> Path:
        return self.root / "sw"

    @property
    def models(self) -> Path:
        return self.root / "models"


@dataclass(frozen=True)
class HomePaths:
    """Folders under the state home; created on demand by their users."""

    root: Path

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def environments(self) -> Path:
        return self.root / "environments"

    @property
    def sources(self) -> Path:
        """The source cache: pinned upstream archives (orchestrator.sources)."""
        return self.root / "sources"

    @property
    def compile_cache(self) -> Path:
        """ccache's folder, shared by COMPILE jobs: the same runtime library compiled for the
        same target is compiled once, whatever the model (the cache never changes an output)."""
        return self.root / "cache" / "ccache"


PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
"""Where a wheel puts the project's folders (pyproject.toml, `force-include`)."""
PROJECT_FOLDERS = ("environments", "images", "sw", "models")


def _is_project(root: Path) -> bool:
    return all((root / folder).is_dir() for folder in PROJECT_FOLDERS)


def project_paths() -> ProjectPaths:
    """`MCUORCH_PROJECT`, else the checkout above this package, else the wheel's package data."""
    override = os.environ.get("MCUORCH_PROJECT")
    if override:
        return ProjectPaths(root=Path(override).resolve())
    checkout = Path(__file__).resolve().parent.parent
    root = checkout if _is_project(checkout) or not _is_project(PACKAGE_DATA) else PACKAGE_DATA
    return ProjectPaths(root=root)


def home_paths() -> HomePaths:
    """The state home: `MCUORCH_HOME` or `platformdirs.user_data_dir("mcuorch")`."""
    override = os.environ.get("MCUORCH_HOME")
    root = Path(override) if override else Path(platformdirs.user_data_dir("mcuorch"))
    return HomePaths(root=root.expanduser().resolve())
