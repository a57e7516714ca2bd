"""Reading a `docker exec` output stream whole, and telling a complete one from a cut one.

docker-py's `exec_start(stream=True)` reads the hijacked connection from the socket *under* the
HTTP response's buffered reader. When the client reads the response headers late (a loaded
machine), the engine has already sent the job's first frames, the buffered reader took them in
with the headers, and they are lost: a host RUN arrived with empty stdout and exit code 0.
`exec_frames` starts the exec itself and reads every frame through that buffered reader.

As a second line, the job wrapper ends both streams with a marker; a log that arrives without
it lost output, and the job is executed again instead of being judged on a partial log.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from orchestrator.runtime.base import Mount

STDERR_FRAME = 2
"""Stream id of stderr in the engine's multiplexed stream (1 is stdout)."""

END_MARKER = b"\036mcuorch-exec-end\n"
"""Written by the wrapper as the last bytes of stdout and of stderr (0x1e: never in a log)."""

SHELL_END_MARKER = r"printf '\036mcuorch-exec-end\n'"
"""The shell command that writes END_MARKER (POSIX printf, octal escape)."""


def take_end_marker(path: Path) -> bool:
    """Whether `path` ends with the marker; if so the marker is cut off, leaving the job's bytes."""
    size = path.stat().st_size
    if size < len(END_MARKER):
        return False
    with open(path, "rb+") as log:
        log.seek(size - len(END_MARKER))
        if log.read() != END_MARKER:
            return False
        log.truncate(size - len(END_MARKER))
    return True


def without_marker(chunk: bytes) -> bytes:
    """A chunk as the user should see it echoed (the marker is the runtime's, not the job's)."""
    return chunk.replace(END_MARKER, b"")


def clear_outputs(mounts: Iterable[Mount]) -> None:
    """Empty the job's writable folders before it runs again, so no file of the cut attempt stays."""
    for mount in mounts:
        if mount.read_only or not mount.path.is_dir():
            continue
        for entry in mount.path.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def exec_frames(api: Any, exec_id: str) -> Iterator[tuple[bytes | None, bytes | None]]:
    """Start the exec (errors raise here, in the caller's thread) and return its output as
    (stdout, stderr) chunks until it ends.

    The same request as docker-py's exec_start (POST /exec/ID/start, upgraded connection), but
    frames are read through the response's buffered reader, so bytes that arrived together with
    the headers are kept; no socket timeout applies (a job may be silent for minutes: its own
    timeout and cancellation end it)."""
    response = api._post_json(api._url("/exec/{0}/start", exec_id), data={"Tty": False, "Detach": False},
                              headers={"Connection": "Upgrade", "Upgrade": "tcp"}, stream=True)
    api._raise_for_status(response)
    reader = response.raw._fp.fp  # http.client's buffered reader over the upgraded connection
    api._disable_socket_timeout(reader.raw)
    return _frames(response, reader)


def _frames(response: Any, reader: Any) -> Iterator[tuple[bytes | None, bytes | None]]:
    try:
        while True:
            header = reader.read(8)
            if len(header) < 8:
                return
            size = int.from_bytes(header[4:8], "big")
            payload = reader.read(size) if size else b""
            yield (None, payload) if header[0] == STDERR_FRAME else (payload, None)
            if len(payload) < size:
                return
    finally:
        response.close()
