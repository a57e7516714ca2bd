"""The HTML report and `mcuorch plot` in a real headless browser (Debian's chromium).

A real session's report page is loaded, its DOM read back after rendering and a screenshot
taken: the table and every chart must be in the rendered page, and the screenshot must not
be blank.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.report.html import write_html_reports
from tests.profile_viewer.viewer import require_browser
from tests.unit.test_charts import frame

@pytest.fixture(scope="module")
def browser() -> str:
    return require_browser()


def _chrome(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage", *args], capture_output=True, text=True, timeout=120)


def test_html_report_renders_in_a_real_browser(browser: str, tmp_path: Path) -> None:
    page, = write_html_reports(frame(), [tmp_path / "report.html"], title="session under test")
    dom = _chrome(browser, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 2 and "session under test" in dom.stdout and "riscv_qemu" in dom.stdout
    shot = tmp_path / "shot.png"
    done = _chrome(browser, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    from PIL import Image  # matplotlib's dependency

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the rendered page is blank"


def test_plot_svg_renders_in_a_real_browser(browser: str, tmp_path: Path) -> None:
    from orchestrator.report.charts import write_chart

    svg = write_chart(frame(), "Run Instructions", tmp_path / "chart.svg")
    dom = _chrome(browser, "--dump-dom", svg.as_uri())
    assert dom.returncode == 0 and "mps2_an386" in dom.stdout, dom.stderr[-2000:]
