"""RateLimiter on the ``limits`` library: moving windows in memory, or in Redis when configured
so that several Tether processes share the counters."""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from tether.domain.health import Check, Probe
from tether.domain.ports import RateLimitState


class LimitsRateLimiter:
    def __init__(self, rules: dict[str, str], redis_url: str = ""):
        storage: Storage
        if redis_url:
            uri = redis_url if redis_url.startswith("async+") else "async+" + redis_url
            found = storage_from_string(uri)
            if not isinstance(found, Storage):
                raise ValueError(f"{redis_url} does not name an async storage")
            storage = found
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
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
        allowed = await self._limiter.hit(item, key)
        return await self._state(item, key, allowed)

    async def peek(self, rule: str, key: str) -> RateLimitState:
        item = self._item(rule)
        allowed = await self._limiter.test(item, key)
        return await self._state(item, key, allowed)

    async def reset(self, rule: str, key: str) -> None:
        item = self._item(rule)
        await self._limiter.clear(item, key)

    async def reachable(self) -> bool:
        """Whether the counters' storage answers (Redis PING; memory always does)."""
        return bool(await self._storage.check())


def redis_probe(limiter: LimitsRateLimiter) -> Probe:
    """Readiness (domain/health.py): without Redis the processes would count apart."""

    async def probe() -> Check:
        if await limiter.reachable():
            return Check(True)
        return Check(False, "Redis does not answer")

    return probe
