"""Integration tests run against the real Docker engine (see docker_fixtures.py); commands
inside the images go through image_exec.py, the in-image suites through image_suites.py."""

import pytest
from docker_fixtures import *
from image_exec import image_shell  # noqa: F401 - a fixture
from image_suites import INNER_RESULTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The counts of every in-image pytest run, so a green host run shows what ran inside."""
    lines = terminalreporter.config.stash.get(INNER_RESULTS, [])
    if lines:
        terminalreporter.section("in-image suites")
        for line in lines:
            terminalreporter.write_line(line)
