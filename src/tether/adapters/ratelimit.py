"""RateLimiter: moving windows in this process's memory, or in Redis through the ``limits``
library when configured so that several Tether processes share the counters.

The memory windows are Tether's own (``MovingWindows``): ``limits``' async memory storage
schedules a clean-up task after every hit that hands a bisect of the key's events to a worker
thread (a thread hop per request on the token endpoint), and inserts each hit at the front of a
list. Here a hit is a deque append and the clean-up runs inline, every ``SWEEP_SECONDS``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from tether.domain.health import Check, Probe
from tether.domain.ports import RateLimitState

#: How often the memory windows drop keys whose hits have all left their window.
SWEEP_SECONDS = 10.0


class MovingWindows:
    """A moving window per key (the strategy ``limits`` calls "moving window"): a hit is allowed
    when fewer than ``limit`` hits of that key fall in the last ``seconds``. Each key keeps the
    times of its allowed hits, oldest first, at most ``limit`` of them. Single-threaded by
    design: every call runs on the event loop, none awaits."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock  # seconds since the epoch; tests pass their own
        self._hits: dict[str, deque[float]] = {}
        self._seconds: dict[str, float] = {}
        self._next_sweep = 0.0

    def _now(self) -> float:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
            self._next_sweep = now + SWEEP_SECONDS
        return now

    def _window(self, key: str, seconds: float, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            self._seconds[key] = seconds
        cutoff = now - seconds
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        for key in [
            k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self._seconds[k]
        ]:
            del self._hits[key]
            del self._seconds[key]

    def _state(
        self, hits: deque[float], limit: int, seconds: float, now: float, allowed: bool
    ) -> RateLimitState:
        # The window frees its next slot when its oldest hit leaves it.
        reset = int(hits[0] + seconds) if hits else int(now + seconds)
        return RateLimitState(allowed, limit, max(0, limit - len(hits)), reset)

    def hit(self, key: str, limit: int, seconds: float) -> RateLimitState:
        now = self._now()
        hits = self._window(key, seconds, now)
        allowed = len(hits) < limit
        if allowed:
            hits.append(now)
        return self._state(hits, limit, seconds, now, allowed)

    def peek(self, key: str, limit: int, seconds: float) -> RateLimitState:
        now = self._now()
        hits = self._window(key, seconds, now)
        return self._state(hits, limit, seconds, now, len(hits) < limit)

    def clear(self, key: str) -> None:
        self._hits.pop(key, None)
        self._seconds.pop(key, None)


class LimitsRateLimiter:
    def __init__(self, rules: dict[str, str], redis_url: str = ""):
        self._storage: Storage | None = None
        self._memory: MovingWindows | None = None
        if redis_url:
            uri = redis_url if redis_url.startswith("async+") else "async+" + redis_url
            found = storage_from_string(uri)
            if not isinstance(found, Storage):
                raise ValueError(f"{redis_url} does not name an async storage")
            self._storage = found
            self._limiter = MovingWindowRateLimiter(found)
        else:
            self._memory = MovingWindows()
        self._rules: dict[str, RateLimitItem] = {
            name: parse(value) for name, value in rules.items()
        }

    def _item(self, rule: str) -> RateLimitItem:
        return self._rules[rule]

    async def _state(self, item: RateLimitItem, key: str, allowed: bool) -> RateLimitState:
        stats = await self._limiter.get_window_stats(item, key)
        reset = int(stats.reset_time) if stats.reset_time else int(time.time()) + item.get_expiry()
        return RateLimitState(allowed, item.amount, max(0, stats.remaining), reset)

    async def hit(self, rule: str, key: str) -> RateLimitState:
        item = self._item(rule)
        if self._memory is not None:
            return self._memory.hit(f"{rule}/{key}", item.amount, item.get_expiry())
        allowed = await self._limiter.hit(item, key)
        return await self._state(item, key, allowed)

    async def peek(self, rule: str, key: str) -> RateLimitState:
        item = self._item(rule)
        if self._memory is not None:
            return self._memory.peek(f"{rule}/{key}", item.amount, item.get_expiry())
        allowed = await self._limiter.test(item, key)
        return await self._state(item, key, allowed)

    async def reset(self, rule: str, key: str) -> None:
        item = self._item(rule)
        if self._memory is not None:
            self._memory.clear(f"{rule}/{key}")
            return
        await self._limiter.clear(item, key)

    async def reachable(self) -> bool:
        """Whether the counters' storage answers (Redis PING; memory always does)."""
        if self._storage is None:
            return True
        return bool(await self._storage.check())


def redis_probe(limiter: LimitsRateLimiter) -> Probe:
    """Readiness (domain/health.py): without Redis the processes would count apart."""

    async def probe() -> Check:
        if await limiter.reachable():
            return Check(True)
        return Check(False, "Redis does not answer")

    return probe
