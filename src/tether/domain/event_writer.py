"""Group commit of grant and sign-in log events (DESIGN.md, "Hot paths"; issue 13, decision 2).

A token grant's only write is its log event, and committing each on its own costs a transaction
per token (on SQLite, a turn of the one write lock). ``EventWriter`` batches the events of
concurrent requests into one transaction: a request hands its event over and waits; one task
per process (per event loop) commits whatever is waiting, in one unit of work, and wakes every
request of that batch. While a batch commits, the next one gathers. An event that arrives on an
idle writer is committed straight away, so a lone request waits no longer than before.

Nothing acknowledged is lost: a request answers only after its batch committed. When a commit
fails, every request of that batch gets the error (a 503 for a busy database) and answers no
token. Links, unlinks and other changes keep writing their event in their own transaction
(``Audit.record``), with the change it describes.

A request may hand over several events and ``steps`` with them: writes that must commit with its
events. A password sign-in's token grant does (decision 4, "the sign-in record, login count and
events in one commit"): the user's login count, last login and IP, the end of a run of failed
attempts and a rehash run as steps, and the ``s`` and token events commit with them, in the
batch's one transaction. A step that fails fails its batch, like a failed commit. The steps of
a batch run in the order of their requests' ``order`` keys (a sign-in's is its user's pk): two
processes whose batches update the same rows take their locks in the same order, so their
transactions cannot deadlock on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from tether.domain.models import LogEvent
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory

#: A write that commits with a request's events, in the batch's unit of work.
Step = Callable[[UnitOfWork], Awaitable[None]]

#: At most this many events per transaction: a burst is cut into a few commits, not one huge one.
MAX_BATCH = 512


@dataclass
class _Loop:
    """The writer's state on one event loop."""

    pending: list[tuple[Sequence[LogEvent], Sequence[Step], str, asyncio.Future[None]]] = field(
        default_factory=list
    )
    task: asyncio.Task[None] | None = None


class EventWriter:
    def __init__(self, uow: UnitOfWorkFactory, *, max_batch: int = MAX_BATCH):
        self._uow = uow
        self._max_batch = max_batch
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = (
            weakref.WeakKeyDictionary()
        )
        #: Batch sizes committed (tests and the benchmark read it).
        self.batches: list[int] = []

    async def write(self, *events: LogEvent, steps: Sequence[Step] = (), order: str = "") -> None:
        """Return once ``events`` (and ``steps``) are committed, with concurrent requests'."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop()
        done: asyncio.Future[None] = loop.create_future()
        state.pending.append((events, steps, order, done))
        if state.task is None or state.task.done():
            # Its own task: a request that is cancelled (the client went away) does not
            # cancel the commit the others of its batch wait for.
            state.task = loop.create_task(self._flush(state))
        await done

    async def _flush(self, state: _Loop) -> None:
        while state.pending:
            batch = state.pending[: self._max_batch]
            del state.pending[: self._max_batch]
            try:
                async with self._uow() as uow:
                    for _, steps, _, _ in sorted(batch, key=lambda entry: entry[2]):
                        for step in steps:
                            await step(uow)
                    await uow.logs.add_many(
                        [event for events, _, _, _ in batch for event in events]
                    )
                    await uow.commit()
            except Exception as exc:  # handed to every waiter of the batch
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            if len(self.batches) < 10_000:
                self.batches.append(len(batch))
            for *_, done in batch:
                if not done.done():
                    done.set_result(None)
