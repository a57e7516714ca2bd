"""Ctrl+C and SIGTERM set a cancel event instead of raising in the middle of bookkeeping."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def cancel_on_signals(cancel: threading.Event) -> Iterator[threading.Event]:
    """Within the block SIGINT/SIGTERM set `cancel`; a second signal is ignored until it ends."""
    previous = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield cancel
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
