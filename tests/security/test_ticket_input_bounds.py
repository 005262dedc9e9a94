"""Bad input to the email-verification ticket endpoint is a 400 in the Management API's shape,
never a 500 (OWASP ASVS 5.0 V1.2 / V2.2: input validated before use; DESIGN.md, "Errors").
Found by attacking the endpoint: a huge ``ttl_sec`` overflowed timedelta and answered 500."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import World
from tests.management.conftest import machine_token
from tests.web.conftest import create_user

TICKETS = "/api/v2/tickets/email-verification"


@pytest.mark.parametrize(
    "body",
    [
        b'{"user_id": "%s", "ttl_sec": 1000000000000000000000000000000}',
        b'{"user_id": "%s", "ttl_sec": 1e999}',
        b'{"user_id": "%s", "ttl_sec": NaN}',
        b'{"user_id": "%s", "ttl_sec": -1}',
        b'{"user_id": "%s", "result_url": "javascript:alert(1)"}',
    ],
)
async def test_bad_ticket_input_is_a_400(
    world: World, http: httpx.AsyncClient, body: bytes
) -> None:
    """ASVS 5.0 V2.2.1: each value checked against its bounds; nothing is stored."""
    headers = {
        "Authorization": f"Bearer {await machine_token(http, world)}",
        "Content-Type": "application/json",
    }
    user = await create_user(world)

    answer = await http.post(TICKETS, content=body % user.user_id.encode(), headers=headers)

    assert answer.status_code == 400, answer.text
    assert answer.json()["statusCode"] == 400
