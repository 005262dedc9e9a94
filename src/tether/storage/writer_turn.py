"""The writers' turn across worker processes on one SQLite database (issue 13, decision 6).

SQLite has one write lock, and a loop connection (storage/loop_sqlite.py) may not wait for it in
SQLite's busy handler, which sleeps on the event loop's thread. Polling it with short asyncio
sleeps works, but the lock sits idle while the waiter sleeps past its release, and the process
that just committed takes it again first (its next writer is already queued): with two workers
sharing the linking load, the waiting one slept 3 ms a transaction on average and the pair rate
fell below one worker's.

So before ``BEGIN IMMEDIATE`` a loop writer takes a turn: an exclusive ``flock`` on a file of its
own beside the database (``<database>-writer``; never one of SQLite's files, whose POSIX locks a
stray descriptor would drop: see ``Checkpointer``). Uncontended it costs two system calls. When
another process holds it, a thread of this process waits in ``flock``, and the kernel wakes it
the moment the holder lets go, so the lock passes between processes without idle gaps and in
turn. A process that dies lets go with its descriptors.

The process keeps one descriptor of the file (opening it per turn cost more than the rest of
the turn). A wait that timed out or was cancelled is abandoned: its thread, once it has the
lock, lets go at once, and until it has, the process's next turn waits for it first, since
``flock`` belongs to the open file description, not to a thread, and the two would share it.

Other writers of the same database (the CLI, a backup, an aiosqlite connection) do not take the
turn; for them ``BEGIN IMMEDIATE`` keeps its own retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor


class TurnTimeout(Exception):
    """The turn was not had within the busy timeout."""


class WriterTurn:
    """The turn of one database's loop writers (module docstring)."""

    def __init__(self, database: str):
        self.path = database + "-writer"
        self._fd: int | None = None
        self._pid = 0
        # One waiting thread is enough: a process's writers already take turns among themselves
        # (storage/uow.py), so at most one of them waits here at a time.
        self._waiter: ThreadPoolExecutor | None = None
        #: A wait given up on whose thread has not had the lock yet (module docstring).
        self._abandoned: Future[bool] | None = None

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            # A forked child opens its own (and its own waiting thread: the parent's is not
            # there).
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
            self._waiter, self._abandoned = None, None
        return self._fd

    async def take(self, wait_at_most: float) -> None:
        """Wait for the turn for at most ``wait_at_most`` seconds, then hold it until ``give``.
        Raises ``TurnTimeout`` when the wait ends without it."""
        deadline = time.monotonic() + wait_at_most
        fd = self._descriptor()
        if self._abandoned is not None:
            with contextlib.suppress(OSError):  # its thread's error was its own
                await self._wait_for(self._abandoned, deadline)
            self._abandoned = None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        guard = threading.Lock()
        state = {"abandoned": False, "taken": False}

        def wait() -> bool:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with guard:
                if state["abandoned"]:
                    fcntl.flock(fd, fcntl.LOCK_UN)  # nobody is left to give it back
                    return False
                state["taken"] = True
                return True

        if self._waiter is None:
            self._waiter = ThreadPoolExecutor(1, thread_name_prefix="tether-writer-turn")
        waiting = self._waiter.submit(wait)
        try:
            await self._wait_for(waiting, deadline)
        except BaseException:
            with guard:
                state["abandoned"] = True
                taken = state["taken"]
            if taken:  # the thread had it for us just before we gave up
                fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                self._abandoned = waiting
            raise

    @staticmethod
    async def _wait_for(waiting: Future[bool], deadline: float) -> None:
        try:
            await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(waiting)), max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            raise TurnTimeout from None

    def give(self) -> None:
        """End the turn ``take`` began."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._waiter is not None:
            self._waiter.shutdown(wait=False, cancel_futures=True)
            self._waiter = None
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
