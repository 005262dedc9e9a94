"""Prometheus metrics (issue 14, "Metrics").

Live: ``tether serve --workers 2`` with TETHER_METRICS_ADDRESS serves /metrics on that address
only (not on the public port), and the counts are the sum over both worker processes
(prometheus-client's multi-process mode). In process: which log events and answers count as
what.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from tests.conftest import make_settings
from tests.production.support import Node, free_port, prepared, start_node
from tether.adapters.metrics import PrometheusMetrics
from tether.domain.models import LogEvent

DATABASE = "Username-Password-Authentication"
PASSWORD = "correct horse battery staple"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@dataclass
class Served:
    node: Node
    metrics_url: str
    init: dict[str, Any]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    folder = Path(tempfile.mkdtemp(prefix="tether-metrics-test-"))
    port, metrics_port = free_port(), free_port()
    settings = {
        "public_url": f"http://localhost:{port}",
        "metrics_address": f"127.0.0.1:{metrics_port}",
        # Per worker (no Redis): 8 requests over 2 workers meet at least one 429.
        "token_rate_limit": "3/minute",
        "log_level": "warning",
    }
    with prepared(folder, **settings) as (env, init):
        node = start_node(env, folder, port, workers=2)
        try:
            node.wait_ready("/readyz")
            yield Served(node, f"http://127.0.0.1:{metrics_port}/metrics", init)
        finally:
            code = node.stop()
            output = node.log()
        assert "Traceback" not in output, output
        assert code in (0, -15), output


def test_metrics_of_two_workers_add_up_on_their_own_address(served: Served) -> None:
    machine = served.init["management_client"]
    statuses = []
    with httpx.Client(base_url=served.node.url, timeout=20) as http:
        for _ in range(8):
            response = http.post(
                "/oauth/token",
                headers={"Connection": "close"},  # a new connection: either worker may take it
                data={
                    "grant_type": "client_credentials",
                    "client_id": machine["client_id"],
                    "client_secret": machine["client_secret"],
                    "audience": machine["audience"],
                },
            )
            statuses.append(response.status_code)
        # The public listener has no /metrics.
        assert http.get("/metrics").status_code == 404
    ok, refused = statuses.count(200), statuses.count(429)
    assert ok + refused == 8 and 3 <= ok <= 6 and refused >= 2, statuses

    exposition = httpx.get(served.metrics_url, timeout=10)
    assert exposition.status_code == 200
    found = samples(exposition.text)
    route = {"method": "POST", "route": "/oauth/token"}
    assert value(found, "tether_http_requests_total", status="200", **route) == ok
    assert value(found, "tether_http_requests_total", status="429", **route) == refused
    assert value(found, "tether_http_request_duration_seconds_count", **route) == 8
    assert value(found, "tether_rate_limited_total", route="/oauth/token") == refused
    assert value(found, "tether_tokens_issued_total", grant="client_credentials") == ok
    assert value(found, "tether_db_wait_seconds_count") > 0
    assert value(found, "tether_password_hashing") == 0  # none in flight at rest
    # The probes the test itself made are counted too, under their templates.
    assert value(found, "tether_http_requests_total", method="GET", route="/readyz", status="200")


def _event(type_: str, **fields: Any) -> LogEvent:
    return LogEvent(log_id="l1", tenant_id="t1", date=datetime(2026, 1, 1), type=type_, **fields)


def test_what_counts_as_what() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    for type_ in ("seccft", "sepft", "sertft", "seacft", "seacft"):
        metrics.event(_event(type_))
    metrics.event(_event("s", connection=DATABASE))
    metrics.event(_event("fp", connection=DATABASE))
    metrics.event(_event("f"))
    metrics.event(_event("sapi", details={"event": "identity_linked"}))
    metrics.event(_event("sapi", details={"event": "identity_unlinked"}))
    metrics.event(_event("sapi", details={"event": "something_else"}))
    metrics.event(_event("limit_wc"))
    metrics.request("GET", None, 404, 0.01)
    metrics.request("POST", "/u/login", 429, 0.02)
    metrics.database_wait(0.003)
    metrics.hashing(+1)
    metrics.hashing(+1)
    metrics.hashing(-1)

    from prometheus_client import generate_latest

    found = samples(generate_latest(registry).decode())
    assert value(found, "tether_tokens_issued_total", grant="authorization_code") == 2
    for grant in ("client_credentials", "password", "refresh_token"):
        assert value(found, "tether_tokens_issued_total", grant=grant) == 1
    assert value(found, "tether_sign_ins_total", connection=DATABASE, outcome="success") == 1
    assert value(found, "tether_sign_ins_total", connection=DATABASE, outcome="failure") == 1
    assert value(found, "tether_sign_ins_total", connection="(none)", outcome="failure") == 1
    assert value(found, "tether_links_total", action="link") == 1
    assert value(found, "tether_links_total", action="unlink") == 1
    assert value(found, "tether_brute_force_blocks_total", type="account_and_ip") == 1
    assert value(found, "tether_http_requests_total", method="GET", route="(none)", status="404")
    assert value(found, "tether_rate_limited_total", route="/u/login") == 1
    assert value(found, "tether_db_wait_seconds_count") == 1
    assert value(found, "tether_password_hashing") == 1


def test_a_bad_metrics_address_is_refused_at_start(tmp_path: Path) -> None:
    for bad in ("9100", "localhost", ":9100", "127.0.0.1:99999"):
        with pytest.raises(ValidationError, match="host:port"):
            make_settings(tmp_path, metrics_address=bad)
    assert make_settings(tmp_path, metrics_address=" [::1]:9100 ").metrics_address == "[::1]:9100"
