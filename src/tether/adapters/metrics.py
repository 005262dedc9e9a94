"""Prometheus metrics (issue 14, "Metrics") with prometheus-client: the domain's Metrics port,
and the exposition server on TETHER_METRICS_ADDRESS, its own address, never a tenant's host.

``tether serve`` runs in prometheus-client's multi-process mode whether it has one worker or
several (``--workers N``): before any worker starts it points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh folder, each worker process writes its values there (memory-mapped files), and the
exposition server, a thread of the ``tether serve`` process itself, adds them up at each scrape.
prometheus-client reads that variable when it is first imported, so this module imports it only
when metrics are on, after the folder is set.

What is counted (label values are bounded: route templates, grant and outcome names, never an
id or a path):

- ``tether_http_requests_total{method,route,status}`` and
  ``tether_http_request_duration_seconds{method,route}``;
- ``tether_rate_limited_total{route}``: requests refused with 429 (rate limits and brute-force
  blocks);
- ``tether_tokens_issued_total{grant}``, ``tether_sign_ins_total{connection,outcome}``,
  ``tether_links_total{action}``, ``tether_brute_force_blocks_total{type}``: from committed log
  events;
- ``tether_db_wait_seconds``: how long a unit of work waited for its database connection;
- ``tether_password_hashing``: argon2 and bcrypt work queued or running off the event loop.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from tether.domain.models import LogEvent

_GRANTS = {
    "seccft": "client_credentials",
    "sepft": "password",
    "sertft": "refresh_token",
    "seacft": "authorization_code",
}
_SIGN_INS = {"s": "success", "f": "failure", "fp": "failure", "fu": "failure"}
_LINKS = {"identity_linked": "link", "identity_unlinked": "unlink"}
_BLOCKS = {"limit_wc": "account_and_ip", "limit_mu": "ip"}
_LOCK = threading.Lock()
_SHARED: PrometheusMetrics | None = None


class PrometheusMetrics:
    """The Metrics port on prometheus-client. ``registry=None`` (the server's case) registers
    nothing in the process: in multi-process mode the exposition reads the files instead."""

    def __init__(self, registry: Any = None):
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "tether_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "tether_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "tether_rate_limited",
            "Requests refused with 429 (rate limits and brute-force blocks).",
            ["route"],
            registry=registry,
        )
        self.tokens = Counter(
            "tether_tokens_issued", "Tokens issued, by grant.", ["grant"], registry=registry
        )
        self.sign_ins = Counter(
            "tether_sign_ins",
            "Sign-ins by connection and outcome (success, failure).",
            ["connection", "outcome"],
            registry=registry,
        )
        self.links = Counter(
            "tether_links", "Identities linked and unlinked.", ["action"], registry=registry
        )
        self.blocks = Counter(
            "tether_brute_force_blocks",
            "Brute-force blocks started (an IP for an account, or an IP).",
            ["type"],
            registry=registry,
        )
        self.db_wait = Histogram(
            "tether_db_wait_seconds",
            "Time a unit of work waited for its database connection (pool; SQLite's writer turn).",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        self.in_flight = Gauge(
            "tether_password_hashing",
            "Password hashes queued or running off the event loop (the argon2 queue).",
            registry=registry,
            multiprocess_mode="livesum",
        )

    @classmethod
    def shared(cls) -> PrometheusMetrics:
        """This process's metrics: made once, whatever number of containers it builds."""
        global _SHARED
        with _LOCK:
            if _SHARED is None:
                _SHARED = cls()
            return _SHARED

    # -- the port -------------------------------------------------------------------------

    def request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        template = route or "(none)"
        self.requests.labels(method, template, str(status)).inc()
        self.latency.labels(method, template).observe(seconds)
        if status == 429:
            self.rate_limited.labels(template).inc()

    def event(self, event: LogEvent) -> None:
        if event.type in _GRANTS:
            self.tokens.labels(_GRANTS[event.type]).inc()
        elif event.type in _SIGN_INS:
            self.sign_ins.labels(event.connection or "(none)", _SIGN_INS[event.type]).inc()
        elif event.type in _BLOCKS:
            self.blocks.labels(_BLOCKS[event.type]).inc()
        elif event.type == "sapi":
            action = _LINKS.get(str(event.details.get("event")))
            if action:
                self.links.labels(action).inc()

    def database_wait(self, seconds: float) -> None:
        self.db_wait.observe(seconds)

    def hashing(self, delta: int) -> None:
        self.in_flight.inc(delta)


# -- the tether serve process ----------------------------------------------------------------

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess() -> Path:
    """A fresh folder for the workers' values, in the environment they inherit. Call before
    anything imports prometheus_client (the CLI does, first thing in ``serve``)."""
    folder = Path(tempfile.mkdtemp(prefix="tether-metrics-"))
    os.environ[ENV] = str(folder)
    return folder


def forget_multiprocess(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """A worker's live gauge (hashing in flight) stops counting once it is gone."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def serve(address: str) -> None:
    """The exposition server (``GET /metrics``) on ``host:port``, in a daemon thread, summing
    every worker's values."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    host, _, port = address.rpartition(":")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry)
