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

Each turn opens its own descriptor and ends by closing it: an abandoned wait (timed out or
cancelled) then holds nothing that a later turn of the same process shares, since ``flock``
belongs to an open file description, not to a thread.

Other writers of the same database (the CLI, a backup, an aiosqlite connection) do not take the
turn; for them ``BEGIN IMMEDIATE`` keeps its own retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


class TurnTimeout(Exception):
    """The turn was not had within the busy timeout."""


class WriterTurn:
    """The turn of one database's loop writers (module docstring)."""

    def __init__(self, database: str):
        self.path = database + "-writer"
        # One waiting thread is enough: a process's writers already take turns among themselves
        # (storage/uow.py), so at most one of them waits here at a time.
        self._waiter: ThreadPoolExecutor | None = None

    async def take(self, wait_at_most: float) -> int:
        """Wait for the turn for at most ``wait_at_most`` seconds; returns the descriptor that holds
        it, for ``give``. Raises ``TurnTimeout`` when the wait ends without it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            raise
        abandoned = threading.Event()

        def wait() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                os.close(fd)
                raise
            if abandoned.is_set():
                os.close(fd)  # nobody is left to give it back
                return False
            return True

        if self._waiter is None:
            self._waiter = ThreadPoolExecutor(1, thread_name_prefix="tether-writer-turn")
        waiting = asyncio.get_running_loop().run_in_executor(self._waiter, wait)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), wait_at_most)
        except BaseException as exc:  # timed out, cancelled, or the thread's OSError
            abandoned.set()
            # The thread may have taken the turn before it saw the flag: then give it back
            # when its answer arrives.
            waiting.add_done_callback(_give_if_taken(fd))
            if isinstance(exc, TimeoutError):
                raise TurnTimeout from None
            raise
        return fd

    def close(self) -> None:
        if self._waiter is not None:
            self._waiter.shutdown(wait=False, cancel_futures=True)
            self._waiter = None


def give(fd: int) -> None:
    """End a turn ``take`` returned (closing its descriptor lets go of the lock)."""
    os.close(fd)


def _give_if_taken(fd: int) -> Callable[[asyncio.Future[bool]], None]:
    def done(waiting: asyncio.Future[bool]) -> None:
        if not waiting.cancelled() and waiting.exception() is None and waiting.result():
            with contextlib.suppress(OSError):
                os.close(fd)

    return done
