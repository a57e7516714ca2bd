"""Loads a trace file into Chrome's own trace viewer, the DevTools Performance panel bundled in
chromium, and reads back what the panel shows (optionally a screenshot of it).

Headless chromium runs the frontend (devtools://devtools/bundled/trace_app.html) as a page; this
module drives it over the Chrome DevTools Protocol on --remote-debugging-pipe (fds 3 and 4, no
port, no websocket library). In that page it hands the file to the panel's load-from-file entry
point (what the panel's Load profile button calls), so the panel's JSON reading, its trace
engine and its flame chart process it; then it reads the entries of the main flame chart (name,
start and duration in ms as drawn), the track names, and any error the panel reported.

The panel's internals are not a stable API: the names used below are those of the frontend
bundled with Chromium 156 (found by listing the modules' exports at runtime); a chromium update
may need them adjusted, which shows as an "evaluate:" error rather than a wrong result.

    python -m tests.profile_viewer.devtools profile.json shot.png   # the docs screenshot
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FRONTEND = "devtools://devtools/bundled/trace_app.html"
SIZE = (1600, 900)

# Shows the Performance panel, loads TRACE_TEXT as a File and waits until the panel has finished
# (loaded, or reported an error in one of its three ways: the file's JSON.parse throws, the loader
# logs "Malformed timeline data" to the DevTools console, or the trace engine's failure arrives as
# RecordingCompleted.errorText). An empty trace ends in loadingComplete with no events.
LOAD_JS = r"""
(async (text, timeoutMs) => {
  const Timeline = await import('./panels/timeline/timeline.js');
  const UI = await import('./ui/legacy/legacy.js');
  const Common = await import('./core/common/common.js');
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const end = Date.now() + timeoutMs;
  let panel = null;
  while (!panel) {
    try { await UI.ViewManager.ViewManager.instance().showView('timeline');
          panel = Timeline.TimelinePanel.TimelinePanel.instance(); }
    catch (e) { if (Date.now() > end) return {error: 'no Performance panel: ' + e}; await sleep(200); }
  }
  let completed = null, loaded = null, thrown = null;
  panel.addEventListener('RecordingCompleted', e => { completed = e.data; });
  const original = panel.loadingComplete.bind(panel);
  panel.loadingComplete = async (events, ...rest) => {
    try { return await original(events, ...rest); } finally { loaded = events.length; }
  };
  const console = Common.Console.Console.instance(), before = console.messages().length;
  const errors = () => console.messages().slice(before).filter(m => m.level === 'error').map(m => m.text);
  try { await panel.loadFromFile(new File([text], 'profile.json', {type: 'application/json'})); }
  catch (e) { thrown = String(e); }
  while (loaded === null && !thrown && !errors().length && Date.now() < end) await sleep(100);
  const error = thrown || errors()[0] || (completed && completed.errorText)
    || (loaded === null ? 'timed out loading' : loaded === 0 ? 'no trace events loaded' : null);
  if (error) return {error};
  const provider = panel.getFlameChart().getMainDataProvider(), data = provider.timelineData();
  const entries = Array.from(data.entryStartTimes, (start, i) =>
    ({name: provider.entryTitle(i), start, dur: data.entryTotalTimes[i], level: data.entryLevels[i]}));
  return {error: null, entries, tracks: data.groups.map(g => g.name)};
})
"""

# For the screenshot: closes the "debugging connection was closed" dialog (the page has no
# inspected target), hides the annotations sidebar, expands the tracks, selects the first entry
# so the details pane shows its args, and gives the details pane room.
DRESS_JS = r"""
(async () => {
  const Timeline = await import('./panels/timeline/timeline.js');
  const UI = await import('./ui/legacy/legacy.js');
  const panel = Timeline.TimelinePanel.TimelinePanel.instance();
  if (UI.Dialog.Dialog.hasInstance()) UI.Dialog.Dialog.getInstance().hide();
  panel.showScreenshotsSetting.set(false);
  const deep = (root, out = []) => { for (const el of root.querySelectorAll('*')) {
    out.push(el); if (el.shadowRoot) deep(el.shadowRoot, out); } return out; };
  deep(document).find(el => el.tagName === 'BUTTON' && el.getAttribute('aria-label') === 'Hide sidebar')?.click();
  const chart = panel.getFlameChart().getMainFlameChart();
  chart.timelineData().groups.forEach((g, i) => chart.expandGroup(i));
  const trace = panel.getParsedTraceForLayoutTests();
  const thread = [...[...trace.Renderer.processes.values()][0].threads.values()][0];
  panel.select(Timeline.TimelineSelection.selectionFromEvent(thread.entries[0]));
  const widgets = (w, out = []) => { out.push(w); for (const c of w.children()) widgets(c, out); return out; };
  const details = widgets(panel).find(w => w instanceof UI.SplitWidget.SplitWidget && !w.isVertical()
                                           && w.sidebarSize() > 0);
  details?.setSidebarSize(470);
  await new Promise(r => setTimeout(r, 500));
})()
"""


class Pipe:
    """CDP over chromium's --remote-debugging-pipe: JSON messages separated by NUL bytes."""

    def __init__(self, chrome: str, profile: Path) -> None:
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def fds_3_and_4() -> None:  # chromium reads commands on fd 3 and answers on fd 4
            read, write = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.proc = subprocess.Popen(
            [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "about:blank"],
            close_fds=False, preexec_fn=fds_3_and_4, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer, self._id, self._events = b"", 0, []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._write, data):]
        reply = self._wait(lambda m: m.get("id") == self._id, timeout, method)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def event(self, method: str, timeout: float = 60) -> dict:
        return self._wait(lambda m: m.get("method") == method, timeout, method)

    def _wait(self, wanted, timeout: float, what: str) -> dict:
        end = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self._events):
                if wanted(message):
                    return self._events.pop(i)
            while b"\0" not in self._buffer:
                left = end - time.monotonic()
                if left <= 0 or not select.select([self._read], [], [], left)[0]:
                    raise TimeoutError(f"chromium: no {what} within {timeout} s")
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium exited (code {self.proc.poll()}) waiting for {what}")
                self._buffer += chunk
            *messages, self._buffer = self._buffer.split(b"\0")
            self._events += [json.loads(m) for m in messages]

    def close(self) -> None:
        """Browser.close, then SIGKILL to what is left of chromium's process group."""
        try:
            self.send("Browser.close", timeout=5)
            end = time.monotonic() + 10
            while time.monotonic() < end and not os.waitid(
                    os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                time.sleep(0.1)
        except Exception:
            pass
        try:  # the leader is not reaped yet, so its process group id is still ours
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        os.close(self._write)
        os.close(self._read)

def evaluate(pipe: Pipe, session: str, expression: str, timeout: float) -> object:
    reply = pipe.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                           "returnByValue": True}, session, timeout=timeout)
    if "exceptionDetails" in reply:
        details = reply["exceptionDetails"]
        raise RuntimeError(f"evaluate: {details.get('exception', {}).get('description') or details['text']}")
    return reply["result"].get("value")


def show_in_devtools(trace: Path, chrome: str, screenshot: Path | None = None,
                     timeout: float = 90) -> dict:
    """What the Performance panel shows for `trace`: {"error": None, "entries": [{name, start,
    dur, level}] (ms, in the flame chart's order), "tracks": [...]} or {"error": message}."""
    with tempfile.TemporaryDirectory(prefix="mcuorch-devtools-") as profile:
        pipe = Pipe(chrome, Path(profile))
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)
            session = pipe.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                                timeout=timeout)["sessionId"]
            pipe.send("Page.enable", session=session, timeout=timeout)
            width, height = SIZE
            pipe.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                      "deviceScaleFactor": 1, "mobile": False}, session, timeout=timeout)
            pipe.send("Page.navigate", {"url": FRONTEND}, session, timeout=timeout)
            pipe.event("Page.loadEventFired", timeout=timeout)
            seen = evaluate(pipe, session, f"{LOAD_JS}({json.dumps(trace.read_text())}, {timeout * 1000})",
                            timeout + 10)
            if screenshot is not None and seen["error"] is None:
                evaluate(pipe, session, DRESS_JS, timeout)
                shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session, timeout=timeout)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return seen
        finally:
            pipe.close()


if __name__ == "__main__":
    from tests.profile_viewer.viewer import browser

    result = show_in_devtools(Path(sys.argv[1]), browser() or "chromium",
                              Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(json.dumps(result, indent=1))
