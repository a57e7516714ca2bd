"""A Docker engine that can be lost on cue: a unix-socket proxy in front of the real one.

Point `DOCKER_HOST` at `proxy.address` and every request reaches the real engine, byte for
byte (streamed and hijacked exec connections included). `cut()` is what a client sees when
the daemon stops or its socket goes away: the socket file disappears, new connections fail,
and every open connection is closed mid-stream. `restore()` brings it back at the same
address, as a restarted daemon would. The real engine (and its containers) never notice.

    with EngineProxy() as proxy:
        env["DOCKER_HOST"] = proxy.address
        ...
        proxy.cut()
        ...
        proxy.restore()
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType

CHUNK = 65536


def upstream_socket() -> str:
    """The real engine's socket: the test process's DOCKER_HOST when it is a unix socket."""
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


class EngineProxy:
    """Forwards a unix socket of its own to the engine's socket until `cut()`. Thread-safe."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream or upstream_socket()
        # short: a unix socket path has ~100 characters at most, pytest's tmp_path can be longer
        self._dir = Path(tempfile.mkdtemp(prefix="mcuorch-proxy-"))
        self.path = self._dir / "docker.sock"
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self.connections = 0
        """Connections accepted so far (all cuts and restores together)."""

    @property
    def address(self) -> str:
        return f"unix://{self.path}"

    @property
    def up(self) -> bool:
        return self._listener is not None

    def start(self) -> EngineProxy:
        with self._lock:
            if self._listener is not None:
                return self
            self.path.unlink(missing_ok=True)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(self.path))
            listener.listen(128)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="engine-proxy", daemon=True).start()
        return self

    restore = start

    def cut(self) -> None:
        """Lose the engine: no socket file, no listener, every open connection closed."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, set()
        if listener is not None:
            self.path.unlink(missing_ok=True)
            _close(listener)
        for conn in conns:
            _close(conn)

    def close(self) -> None:
        self.cut()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EngineProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- forwarding -----------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut: the listener was closed
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                engine.connect(self.upstream)
            except OSError:
                _close(client)
                _close(engine)
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client)
                    _close(engine)
                    return
                self._open.update((client, engine))
                self.connections += 1
            pair = _Pair(client, engine, self._forget)
            for src, dst in ((client, engine), (engine, client)):
                threading.Thread(target=pair.pump, args=(src, dst), name="engine-proxy-pump", daemon=True).start()

    def _forget(self, *conns: socket.socket) -> None:
        with self._lock:
            self._open.difference_update(conns)


class _Pair:
    """One client connection and its engine connection; closed when both directions ended."""

    def __init__(self, client: socket.socket, engine: socket.socket, forget: object) -> None:
        self.client = client
        self.engine = engine
        self.forget = forget
        self._lock = threading.Lock()
        self._ended = 0

    def pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)  # pass the half-close on (a request body's end)
        except OSError:
            _close(src)  # one side failed or was cut: end both directions
            _close(dst)
        with self._lock:
            self._ended += 1
            both = self._ended == 2
        if both:
            _close(self.client)
            _close(self.engine)
            self.forget(self.client, self.engine)  # type: ignore[operator]


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
