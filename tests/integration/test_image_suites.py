"""Every suite under tests/images passes inside its image (launched from the host).

Each host test runs the suite's placements (image_suites.SUITES) in containers of the default
environment's images, then fails with the in-image pytest summary when a run failed or a skip
was not justified. The inner counts are recorded as properties and printed at the end of the
host session ("in-image suites").
"""

from __future__ import annotations

import pytest
from image_exec import ImageShell
from image_suites import (
    INNER_RESULTS,
    SUITES,
    SUITES_DIR,
    count_lines,
    failure_text,
    judge,
    run_placement,
)

from tests.conftest import justified_skip


def test_every_image_suite_has_a_placement() -> None:
    folders = {p.name for p in SUITES_DIR.iterdir() if p.is_dir() and any(p.rglob("test_*.py"))}
    assert folders == set(SUITES), "tests/images/<name> folders and image_suites.SUITES differ"


@pytest.mark.docker
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("name", sorted(SUITES))
def test_image_suite_passes_in_its_image(name: str, image_shell: ImageShell,
                                         request: pytest.FixtureRequest,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    suite = SUITES[name]
    out = tmp_path_factory.mktemp(f"suite-{name}")
    runs = [run_placement(image_shell, suite, placement, out) for placement in suite.placements]
    problems, delegated = judge(runs, justified_skip)
    lines = count_lines(suite, runs, delegated)
    for line in lines:
        request.node.user_properties.append(("inner", line))
    request.config.stash.setdefault(INNER_RESULTS, []).extend(lines)
    if problems:
        pytest.fail(failure_text(problems, runs, lines), pytrace=False)
