"""Configuration as a read model in each process (issue 13, decision 1; DESIGN.md "Hot paths").

Two ``tether serve`` processes on one database: a change made through one of them (a rotated
secret, a deleted application) stops working on the other within the stated bound, 1 second
(domain/configuration.py). The test waits exactly that bound after the change was answered and
then demands the other process refuses; it also measures how long it actually took.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.production.support import Node, free_port, prepared, start_node

#: The bound the README and domain/configuration.py state.
BOUND = 1.0


@dataclass
class Pair:
    writer: Node
    reader: Node
    init: dict[str, Any]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    folder = Path(tempfile.mkdtemp(prefix="tether-config-"))
    # One public URL for both: each process would otherwise claim the tenant for its own port.
    settings = {
        "public_url": "http://localhost:8000",
        "token_rate_limit": "100000/minute",
        "log_level": "warning",
    }
    with prepared(folder, **settings) as (env, init):
        writer = start_node(env, folder, free_port(), "writer")
        reader = start_node(env, folder, free_port(), "reader")
        try:
            writer.wait_ready("/readyz")
            reader.wait_ready("/readyz")
            yield Pair(writer, reader, init)
        finally:
            outputs = [(node.stop(), node.log()) for node in (writer, reader)]
        for code, output in outputs:
            assert "Traceback" not in output, output
            assert code in (0, -15), output


def _token(node: Node, client_id: str, secret: str, audience: str) -> httpx.Response:
    return httpx.post(
        node.url + "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": audience,
        },
        timeout=20,
    )


def _management(pair: Pair) -> httpx.Client:
    machine = pair.init["management_client"]
    answer = _token(
        pair.writer, machine["client_id"], machine["client_secret"], machine["audience"]
    )
    assert answer.status_code == 200, answer.text
    return httpx.Client(
        base_url=pair.writer.url + "/api/v2",
        headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
        timeout=20,
    )


def _until_refused(node: Node, client_id: str, secret: str, audience: str) -> float:
    """Seconds until ``node`` refuses these credentials (polled; a 200 before is fine)."""
    started = time.monotonic()
    while time.monotonic() - started < 10:
        answer = _token(node, client_id, secret, audience)
        if answer.status_code == 401:
            return time.monotonic() - started
        assert answer.status_code == 200, answer.text
    raise AssertionError("never refused")


def test_a_rotated_secret_and_a_deleted_application_stop_working_on_the_other_process(
    pair: Pair,
) -> None:
    audience = pair.init["management_client"]["audience"]
    with _management(pair) as api:
        created = api.post(
            "/clients",
            json={
                "name": "config-bound",
                "app_type": "non_interactive",
                "grant_types": ["client_credentials"],
            },
        )
        assert created.status_code == 201, created.text
        client_id, old_secret = created.json()["client_id"], created.json()["client_secret"]
        granted = api.post(
            "/client-grants",
            json={"client_id": client_id, "audience": audience, "scope": ["read:users"]},
        )
        assert granted.status_code == 201, granted.text
        # The writer serves its own change at once; the reader within the bound.
        assert _token(pair.writer, client_id, old_secret, audience).status_code == 200
        time.sleep(BOUND)
        assert _token(pair.reader, client_id, old_secret, audience).status_code == 200

        # A rotated secret: the old one is refused by the writer at once, by the reader
        # within the bound, and the new one works on both.
        rotated = api.post(f"/clients/{client_id}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        answered = time.monotonic()
        new_secret = rotated.json()["client_secret"]
        assert _token(pair.writer, client_id, old_secret, audience).status_code == 401
        took = _until_refused(pair.reader, client_id, old_secret, audience)
        assert time.monotonic() - answered <= BOUND + 0.5, took  # the poll's own loop
        time.sleep(max(0.0, answered + BOUND - time.monotonic()))
        assert _token(pair.reader, client_id, old_secret, audience).status_code == 401
        assert _token(pair.reader, client_id, new_secret, audience).status_code == 200
        print(f"rotated secret refused by the other process after {took:.3f} s")

        # A deleted application: refused everywhere within the bound.
        deleted = api.delete(f"/clients/{client_id}")
        assert deleted.status_code == 204, deleted.text
        answered = time.monotonic()
        assert _token(pair.writer, client_id, new_secret, audience).status_code == 401
        took = _until_refused(pair.reader, client_id, new_secret, audience)
        time.sleep(max(0.0, answered + BOUND - time.monotonic()))
        assert _token(pair.reader, client_id, new_secret, audience).status_code == 401
        print(f"deleted application refused by the other process after {took:.3f} s")
