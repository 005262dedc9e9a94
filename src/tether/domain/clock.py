"""Time, in one place, so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)


def epoch(value: datetime) -> int:
    """Naive UTC datetime to epoch seconds."""
    return int(value.replace(tzinfo=UTC).timestamp())
