"""Signals during image builds that a runtime's `prepare` starts."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl+C / SIGTERM abort an image build inside `prepare` (as KeyboardInterrupt).

    A session's handlers only set its cancel event, which a build cannot see (the protocol's
    `prepare` takes none), so without this a Ctrl+C would wait for minutes of building.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
