"""Ports to things outside the database: the mail transport and the rate limiter
(adapters/ implements them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tether.domain.models import Mail


class MailTransport(Protocol):
    """Delivers one mail; raises on failure."""

    async def send(self, mail: Mail, sender: str) -> None: ...


@dataclass(frozen=True)
class RateLimitState:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # UTC epoch seconds


class RateLimiter(Protocol):
    """Fixed or moving windows keyed by string. ``hit`` returns the window state after counting."""

    async def hit(self, rule: str, key: str) -> RateLimitState: ...
    async def peek(self, rule: str, key: str) -> RateLimitState: ...
    async def reset(self, rule: str, key: str) -> None: ...
