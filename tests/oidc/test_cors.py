"""CORS: browsers may call /oauth/token, /oauth/revoke and /userinfo from an application's web
origin (auth0-spa-js sends the ``auth0-client`` header), never /authorize (RFC 9700 §2.6)."""

from __future__ import annotations

import httpx
import pytest

from tests.oidc.conftest import RP_ORIGIN, Browser, Oidc

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "auth0-client, content-type",
}


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/userinfo"])
async def test_preflight_from_a_web_origin_succeeds(
    http: httpx.AsyncClient, oidc: Oidc, path: str
) -> None:
    response = await http.options(path, headers={"Origin": RP_ORIGIN, **PREFLIGHT})
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == RP_ORIGIN
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"auth0-client", "content-type"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Origin" in response.headers["vary"]
    assert response.headers.get("access-control-allow-credentials") is None


@pytest.mark.parametrize(
    "origin",
    ["https://evil.test", "https://app.example.com.evil.test", "http://app.example.com", "null"],
)
async def test_preflight_from_another_origin_gets_no_cors(
    http: httpx.AsyncClient, oidc: Oidc, origin: str
) -> None:
    response = await http.options("/oauth/token", headers={"Origin": origin, **PREFLIGHT})
    assert "access-control-allow-origin" not in response.headers


async def test_token_response_carries_cors_for_a_web_origin_only(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    got = await browser.code()
    body = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": "https://app.example.com/cb",
        "client_id": oidc.rp.client_id,
        "client_secret": oidc.rp.client_secret,
    }
    ok = await http.post("/oauth/token", data=body, headers={"Origin": RP_ORIGIN})
    assert ok.headers["access-control-allow-origin"] == RP_ORIGIN
    refused = await http.post("/oauth/token", data=body, headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in refused.headers


async def test_authorize_never_answers_cors(browser: Browser, http: httpx.AsyncClient) -> None:
    preflight = await http.options(
        "/authorize",
        headers={"Origin": RP_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    query = browser.query()
    for response in (
        await http.get("/authorize", params=query, headers={"Origin": RP_ORIGIN}),
        await http.get("/authorize", params={"client_id": "x"}, headers={"Origin": RP_ORIGIN}),
    ):
        assert not any(h.startswith("access-control-") for h in response.headers)
