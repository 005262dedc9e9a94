"""``POST /api/v2/clients/{id}/rotate-secret`` (Auth0's, scope ``update:client_keys``): the
client with its new secret; the old secret refused from then on; logged as ``sapi``. Also the
CLI's ``tether apps rotate-secret`` and the dashboard's button call the same service (their
own tests: tests/e2e for the CLI, tests/dashboard for the page)."""

from __future__ import annotations

import httpx

from tests.conftest import World
from tests.management.conftest import API, assert_error, machine_token, sapi_events
from tether.domain.applications import NewApplication
from tether.domain.models import AppType


async def _client_credentials(
    http: httpx.AsyncClient, world: World, client_id: str, secret: str
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": world.tenant.management_audience,
        },
    )


async def test_rotate_secret(http: httpx.AsyncClient, world: World) -> None:
    old = world.machine.client_secret
    token = await machine_token(http, world, "update:client_keys")
    response = await http.post(
        f"{API}/clients/{world.machine.client_id}/rotate-secret",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["client_id"] == world.machine.client_id
    assert body["name"] == "Tether Management Client"
    new = body["client_secret"]
    assert isinstance(new, str) and len(new) >= 48 and new != old

    refused = await _client_credentials(http, world, world.machine.client_id, old)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    accepted = await _client_credentials(http, world, world.machine.client_id, new)
    assert accepted.status_code == 200, accepted.text

    [event, *_] = await sapi_events(world)
    assert event.description == "Rotate a client secret"
    assert event.details["request"] == {
        "method": "POST",
        "path": f"/api/v2/clients/{world.machine.client_id}/rotate-secret",
    }
    assert new not in str(event.details) and old not in str(event.details)


async def test_rotate_secret_needs_update_client_keys(
    http: httpx.AsyncClient, world: World
) -> None:
    token = await machine_token(http, world, "update:clients read:client_keys")
    response = await http.post(
        f"{API}/clients/{world.app.client_id}/rotate-secret",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(response, 403, "insufficient_scope")
    # Nothing changed.
    still = await _client_credentials(
        http, world, world.machine.client_id, world.machine.client_secret
    )
    assert still.status_code == 200


async def test_rotate_secret_of_a_public_or_missing_client(
    http: httpx.AsyncClient, world: World
) -> None:
    spa = await world.container.applications.create(
        world.tenant,
        NewApplication(name="SPA", app_type=AppType.SPA, callbacks=("https://a.test/",)),
    )
    token = await machine_token(http, world, "update:client_keys")
    auth = {"Authorization": f"Bearer {token}"}
    public = await http.post(
        f"{API}/clients/{spa.application.client_id}/rotate-secret", headers=auth
    )
    assert_error(public, 400, "invalid_body")
    missing = await http.post(f"{API}/clients/nope/rotate-secret", headers=auth)
    assert_error(missing, 404, "inexistent_client")
