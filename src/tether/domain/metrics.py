"""What Tether counts for its operators (issue 14, "Metrics"), as a port: the adapter
(adapters/metrics.py, prometheus-client) is wired in by bootstrap when TETHER_METRICS_ADDRESS is
set; otherwise every call is a no-op. The domain reports what only it sees (committed log
events, password hashing in flight); web reports requests; storage reports waits for a
database connection.
"""

from __future__ import annotations

from typing import Protocol

from tether.domain.models import LogEvent


class Metrics(Protocol):
    def request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """One HTTP request answered (its route template, never its path)."""

    def event(self, event: LogEvent) -> None:
        """One log event committed: tokens issued, sign-ins, links, brute-force blocks."""

    def database_wait(self, seconds: float) -> None:
        """How long a unit of work waited for a database connection from the pool."""

    def hashing(self, delta: int) -> None:
        """Password hashes queued or running off the event loop: +1 when one is handed to the
        thread pool, -1 when it is done."""


class NoMetrics:
    def request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        pass

    def event(self, event: LogEvent) -> None:
        pass

    def database_wait(self, seconds: float) -> None:
        pass

    def hashing(self, delta: int) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()
