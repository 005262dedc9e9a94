"""Repository contract: tenant logs.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.domain.log_filter import LogFilter
from tether.storage.uow import SqlUnitOfWorkFactory

# ------------------------------------------------------------------------------------------- logs


async def test_logs_newest_first_filtered_paged_and_isolated(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    events = [r.log_event(a, date=s, user_id="auth0|ann") for s in (1, 3, 2)]
    events.append(r.log_event(a, date=4, user_id="auth0|bob"))
    # Same instant: log_id breaks the tie.
    tie = [replace(r.log_event(a, date=5), log_id=f"9002tie{c}") for c in "ba"]
    async with uows() as uow:
        for e in (*events, *tie):
            await uow.logs.add(e)
        await uow.logs.add(r.log_event(b, date=9))
        await uow.commit()
    everything = sorted([*events, *tie], key=lambda e: e.log_id)
    everything.sort(key=lambda e: e.date, reverse=True)
    async with uows() as uow:
        assert await uow.logs.list(a) == everything
        assert await uow.logs.list(a, limit=2) == everything[:2]
        assert await uow.logs.list(a, limit=2, offset=2) == everything[2:4]
        ann = await uow.logs.list(a, user_id="auth0|ann")
        assert ann == [e for e in everything if e.user_id == "auth0|ann"]
        assert [e.date for e in ann] == [r.at(3), r.at(2), r.at(1)]
        assert await uow.logs.list(b, user_id="auth0|ann") == []
        assert len(await uow.logs.list(b)) == 1


# --------------------------------------------------------------------- logs: get, search, after


async def test_logs_get_search_and_checkpoint_paging(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    events = [
        replace(r.log_event(a, date=s, user_id=u), type=ty, log_id=f"9002{n:02d}")
        for n, (s, u, ty) in enumerate(
            [(1, "auth0|ann", "s"), (2, "auth0|bob", "f"), (2, "auth0|ann", "s"), (4, None, "sapi")]
        )
    ]
    async with uows() as uow:
        for e in events:
            await uow.logs.add(e)
        await uow.logs.add(replace(r.log_event(b, date=3), log_id="9002b0"))
        await uow.commit()
    oldest_first = sorted(events, key=lambda e: (e.date, e.log_id))
    async with uows() as uow:
        assert await uow.logs.get(a, events[0].log_id) == events[0]
        assert await uow.logs.get(b, events[0].log_id) is None

        page, total = await uow.logs.search(a, LogFilter(), offset=0, limit=2)
        assert total == 4 and page == oldest_first[::-1][:2]
        page, total = await uow.logs.search(a, LogFilter(descending=False), offset=1, limit=2)
        assert total == 4 and page == oldest_first[1:3]
        ann, total = await uow.logs.search(
            a, LogFilter(user_id="auth0|ann", types=("s",)), offset=0, limit=10
        )
        assert total == 2 and {e.log_id for e in ann} == {"900200", "900202"}
        window, total = await uow.logs.search(
            a, LogFilter(date_from=r.at(2), date_to=r.at(2)), offset=0, limit=10
        )
        assert total == 2 and {e.log_id for e in window} == {"900201", "900202"}

        # Checkpoints walk the log oldest first, ties on date broken by log_id.
        first = await uow.logs.after(a, LogFilter(), from_id=None, take=2)
        assert first == oldest_first[:2]
        rest = await uow.logs.after(a, LogFilter(), from_id=first[-1].log_id, take=10)
        assert rest == oldest_first[2:]
        assert await uow.logs.after(a, LogFilter(), from_id=rest[-1].log_id, take=10) == []
        # Another tenant's id is no anchor here.
        assert await uow.logs.after(b, LogFilter(), from_id=events[0].log_id, take=10) == [
            await uow.logs.get(b, "9002b0")
        ]
