"""Auth0's client fields ``cross_origin_authentication`` and ``cross_origin_loc`` (issue 15):
created, read, changed and cleared through ``/api/v2/clients``, as Auth0's dashboard and
SDKs set "Allow Cross-Origin Authentication"."""

from __future__ import annotations

import httpx

ORIGIN = "https://app.example.org"


async def test_cross_origin_fields_round_trip(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/api/v2/clients",
        json={"name": "Lock app", "app_type": "spa", "web_origins": [ORIGIN]},
    )
    assert created.status_code == 201, created.text
    client = created.json()
    assert client["cross_origin_authentication"] is False  # off unless asked for
    assert "cross_origin_loc" not in client
    path = f"/api/v2/clients/{client['client_id']}"

    changed = await api.patch(
        path,
        json={"cross_origin_authentication": True, "cross_origin_loc": ORIGIN + "/co.html"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["cross_origin_authentication"] is True
    assert changed.json()["cross_origin_loc"] == ORIGIN + "/co.html"
    read = (await api.get(path)).json()
    assert read["cross_origin_authentication"] is True

    cleared = await api.patch(path, json={"cross_origin_loc": ""})
    assert cleared.status_code == 200
    assert "cross_origin_loc" not in cleared.json()
    assert cleared.json()["cross_origin_authentication"] is True

    bad = await api.patch(path, json={"cross_origin_loc": "not a url"})
    assert bad.status_code == 400
    assert bad.json()["statusCode"] == 400
