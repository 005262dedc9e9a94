"""The in-process moving windows (adapters/ratelimit.py ``MovingWindows``): the counting rule,
the state the X-RateLimit headers are built from, and that no thread is used per hit."""

from __future__ import annotations

import asyncio
import threading

from tether.adapters.ratelimit import SWEEP_SECONDS, LimitsRateLimiter, MovingWindows


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_allows_limit_hits_then_refuses_until_the_oldest_leaves() -> None:
    clock = FakeTime()
    windows = MovingWindows(clock)
    states = []
    for _ in range(3):
        states.append(windows.hit("k", 3, 60))
        clock.now += 1
    assert [s.allowed for s in states] == [True, True, True]
    assert [s.remaining for s in states] == [2, 1, 0]
    refused = windows.hit("k", 3, 60)
    assert not refused.allowed and refused.remaining == 0
    assert refused.reset_at == 1_000_000 + 60  # when the first hit leaves the window
    clock.now = 1_000_000.0 + 60.5  # the first hit left; two remain
    state = windows.hit("k", 3, 60)
    assert state.allowed and state.remaining == 0
    assert windows.peek("other", 3, 60).remaining == 3  # keys count apart


def test_a_refused_hit_is_not_counted_and_clear_forgets_the_key() -> None:
    clock = FakeTime()
    windows = MovingWindows(clock)
    windows.hit("k", 1, 10)
    for _ in range(5):
        assert not windows.hit("k", 1, 10).allowed
    clock.now += 10.5
    assert windows.hit("k", 1, 10).allowed  # the refusals did not extend the window
    windows.clear("k")
    assert windows.peek("k", 1, 10).allowed


def test_idle_keys_are_swept() -> None:
    clock = FakeTime()
    windows = MovingWindows(clock)
    for i in range(100):
        windows.hit(f"ip{i}", 5, 1)
    clock.now += SWEEP_SECONDS + 2
    windows.peek("fresh", 5, 1)
    assert list(windows._hits) == ["fresh"]


async def test_the_limiter_counts_in_memory_without_a_thread() -> None:
    limiter = LimitsRateLimiter({"r": "2/minute"})
    started = threading.active_count()
    loop = asyncio.get_running_loop()
    executor_calls = []
    original = loop.run_in_executor

    def spy(*args: object) -> object:
        executor_calls.append(args)
        return original(*args)  # type: ignore[arg-type]

    loop.run_in_executor = spy  # type: ignore[method-assign]
    try:
        first = await limiter.hit("r", "a")
        second = await limiter.hit("r", "a")
        third = await limiter.hit("r", "a")
        await asyncio.sleep(0)
    finally:
        loop.run_in_executor = original  # type: ignore[method-assign]
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert (first.limit, first.remaining, third.remaining) == (2, 1, 0)
    assert (await limiter.peek("r", "b")).remaining == 2
    await limiter.reset("r", "a")
    assert (await limiter.hit("r", "a")).allowed
    assert executor_calls == []
    assert threading.active_count() == started
    assert await limiter.reachable()
