"""Graceful shutdown (issue 14, "Health"): on SIGTERM readiness turns false first, the process
keeps serving for ``TETHER_SHUTDOWN_DELAY`` seconds so the load balancer, polling /readyz, stops
sending it new requests; then uvicorn closes the listener and gives the requests in flight
``TETHER_SHUTDOWN_TIMEOUT`` seconds to finish before it cuts them and exits.

uvicorn installs its own SIGTERM and SIGINT handlers before the application starts. ``install``
wraps them: the signal marks the process as draining at once and reaches uvicorn's handler
after the delay (SIGINT, a person at a terminal, and any second signal reach it at once). Every
worker process of ``tether serve --workers N`` does this for itself: the supervisor passes the
SIGTERM on to each.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any]

log = logging.getLogger("tether.lifecycle")


class Lifecycle:
    def __init__(self) -> None:
        self.draining_since: float | None = None

    @property
    def draining(self) -> bool:
        return self.draining_since is not None

    def drain(self) -> None:
        if self.draining_since is None:
            self.draining_since = time.monotonic()

    def install(self, delay: float) -> None:
        """Wrap the server's SIGTERM/SIGINT handlers (call from the running event loop)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach only the main thread; a test server in a thread has none
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue  # nobody would stop the server: leave the default alone
            signal.signal(sig, self._handler(loop, previous, delay))

    def _handler(self, loop: asyncio.AbstractEventLoop, previous: Handler, delay: float) -> Handler:
        def handle(signum: int, frame: FrameType | None) -> None:
            first = not self.draining
            self.drain()
            if not first or delay <= 0 or signum != signal.SIGTERM:
                previous(signum, frame)
                return
            log.info("SIGTERM: not ready; closing the listener in %g s", delay)
            # Signal handlers run between bytecodes of the loop's thread: hand over safely.
            loop.call_soon_threadsafe(loop.call_later, delay, previous, signum, None)

        return handle
