"""Checks a profile.json against the Trace Event Format rules in a headless browser, and finds
the browser (require_browser) for this and tests/profile_viewer/devtools.py.

This is not a trace viewer: chromium only JSON.parses the file in a page and runs the checks
written below in JavaScript (independently of orchestrator.profile.trace): every event has a
ph and a numeric pid/ts/tid, complete events a name and a non-negative dur and no two of them
on one thread cross, B/E pairs balance, counter args are numbers. They are rules the trace
importers enforce or silently work around; the DevTools Performance panel, for one, draws only
the first of two crossing events without an error. Whether a real viewer loads the file and
shows every kernel is checked by tests/profile_viewer/devtools.py (Chrome's own Performance
panel); Perfetto's trace processor is not used (its Python package downloads the binary on
first use, and there is no internet here).
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import in_ci

BROWSERS = ("chromium", "chromium-browser", "google-chrome")

CHECK_JS = r"""
function check(text) {
  const problems = [];
  let doc;
  try { doc = JSON.parse(text); } catch (e) { return {problems: ["JSON.parse: " + e.message]}; }
  if (doc === null || typeof doc !== "object" || !Array.isArray(doc.traceEvents))
    return {problems: ["no traceEvents array"]};
  const num = v => typeof v === "number" && isFinite(v);
  const open = {}, threads = {};
  let complete = 0, counters = 0, durations = 0;
  doc.traceEvents.forEach((ev, i) => {
    if (typeof ev !== "object" || typeof ev.ph !== "string") { problems.push(i + ": no ph"); return; }
    const key = ev.pid + "/" + ev.tid;
    if (!num(ev.pid)) problems.push(i + ": pid");
    if (ev.ph !== "M" && !num(ev.ts)) problems.push(i + ": ts");
    if ("XBE".includes(ev.ph) && !num(ev.tid)) problems.push(i + ": tid");
    if (ev.ph === "X") {
      if (typeof ev.name !== "string" || !num(ev.dur) || ev.dur < 0) problems.push(i + ": X name/dur");
      complete++; durations += ev.dur;
      (threads[key] = threads[key] || []).push([ev.ts, ev.ts + ev.dur, ev.name]);
    } else if (ev.ph === "B") { (open[key] = open[key] || []).push(ev.name); }
    else if (ev.ph === "E") { if (!(open[key] || []).length) problems.push(i + ": E without B"); else open[key].pop(); }
    else if (ev.ph === "C") {
      counters++;
      const vals = Object.values(ev.args || {});
      if (!vals.length || !vals.every(num)) problems.push(i + ": counter args");
    }
  });
  for (const k in open) if (open[k].length) problems.push("unbalanced B/E on " + k);
  for (const k in threads) {
    const s = threads[k].sort((a, b) => a[0] - b[0] || b[1] - a[1]), stack = [];
    for (const x of s) {
      while (stack.length && stack[stack.length - 1][1] <= x[0]) stack.pop();
      if (stack.length && x[1] > stack[stack.length - 1][1]) problems.push("X events cross: " + x[2]);
      stack.push(x);
    }
  }
  const names = doc.traceEvents.filter(e => e.ph === "X").map(e => e.name);
  return {problems, complete, counters, durations, names, unit: doc.displayTimeUnit || null};
}
document.getElementById("result").textContent = JSON.stringify(check(TRACE_TEXT));
"""


def browser() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def require_browser() -> str:
    """A headless browser, or a failure under CI (a skip elsewhere): tests never pass without one."""
    found = browser()
    if found is None:
        message = "no headless browser (apt-get install chromium; scripts/host-tools.sh --test does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def view_trace(trace: Path, work: Path, chrome: str) -> dict:
    """What the browser made of `trace`: problems (empty when fine), count of complete events,
    counters, the sum of the complete events' durations, their names in order, displayTimeUnit."""
    text = trace.read_text()
    page = work / f"{trace.stem}-viewer.html"
    page.write_text("<!doctype html><html><body><pre id=\"result\">not run</pre><script>\n"
                    f"const TRACE_TEXT = {json.dumps(text)};\n{CHECK_JS}</script></body></html>\n")
    done = subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{chrome} failed: {done.stderr[-2000:]}")
    start = done.stdout.index('<pre id="result">') + len('<pre id="result">')
    result = done.stdout[start:done.stdout.index("</pre>", start)]
    return json.loads(html.unescape(result))
