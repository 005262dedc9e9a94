"""PKCE (RFC 7636; RFC 9700 §2.1.1, §4.8.2): oidcc-ensure-request-with-valid-pkce-succeeds and
the negative checks the conformance suite keeps for FAPI (required for public clients, plain
refused, wrong or missing verifier refused, verifier without challenge refused)."""

from __future__ import annotations

import httpx
import pytest

from tests.oidc.conftest import (
    ISSUER,
    Browser,
    Client,
    Oidc,
    callback_params,
    jwks,
    new_verifier,
    redeem,
    s256,
    verify_rs256,
)
from tether.domain.models import AppType


@pytest.fixture
async def spa(oidc: Oidc) -> Client:
    client = await oidc.app(app_type=AppType.SPA, name="Single Page")
    assert client.client_secret == ""
    return client


async def test_valid_s256_succeeds_for_a_confidential_client(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    verifier = new_verifier()
    got = await browser.code(code_challenge=s256(verifier), code_challenge_method="S256")
    response = await redeem(http, oidc.rp, got["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text


async def test_public_client_with_pkce_gets_tokens_without_a_secret(
    browser: Browser, http: httpx.AsyncClient, spa: Client
) -> None:
    verifier = new_verifier()
    got = await browser.code(spa, code_challenge=s256(verifier), code_challenge_method="S256")
    response = await redeem(http, spa, got["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    claims = verify_rs256(body["id_token"], await jwks(http))
    assert claims["aud"] == spa.client_id


async def test_public_client_without_pkce_is_refused(browser: Browser, spa: Client) -> None:
    query = browser.query(spa)
    got = callback_params(await browser.http.get("/authorize", params=query))
    assert got["error"] == "invalid_request"
    assert got["state"] == query["state"]
    assert got["iss"] == ISSUER


@pytest.mark.parametrize("method", ["plain", None], ids=["plain", "default-plain"])
async def test_plain_is_refused(browser: Browser, spa: Client, method: str | None) -> None:
    verifier = new_verifier()
    got = callback_params(
        await browser.authorize(spa, code_challenge=verifier, code_challenge_method=method)
    )
    assert got["error"] == "invalid_request"


@pytest.mark.parametrize(
    "verifier",
    ["wrong", None, "x" * 42, "y" * 129, "z" * 43],
    ids=["short-wrong", "missing", "42-chars", "129-chars", "well-formed-but-wrong"],
)
async def test_wrong_or_missing_verifier_is_invalid_grant(
    browser: Browser, http: httpx.AsyncClient, spa: Client, verifier: str | None
) -> None:
    good = new_verifier()
    got = await browser.code(spa, code_challenge=s256(good), code_challenge_method="S256")
    extra = {"code_verifier": verifier} if verifier is not None else {}
    response = await redeem(http, spa, got["code"], **extra)
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"


async def test_confidential_client_wrong_verifier_is_invalid_grant(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    got = await browser.code(code_challenge=s256(new_verifier()), code_challenge_method="S256")
    response = await redeem(http, oidc.rp, got["code"], code_verifier=new_verifier())
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"


async def test_verifier_without_a_challenge_is_refused(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    """RFC 9700 §4.8.2: PKCE downgrade."""
    got = await browser.code()
    response = await redeem(http, oidc.rp, got["code"], code_verifier=new_verifier())
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"


async def test_public_client_refresh_tokens_rotate(
    browser: Browser, http: httpx.AsyncClient, spa: Client
) -> None:
    """RFC 9700 §4.14.2: a public client's refresh token is rotated, and reuse is caught."""
    verifier = new_verifier()
    got = await browser.code(spa, code_challenge=s256(verifier), code_challenge_method="S256")
    body = (await redeem(http, spa, got["code"], code_verifier=verifier)).json()

    async def refresh(token: str) -> httpx.Response:
        return await http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": spa.client_id,
                "refresh_token": token,
            },
        )

    first = await refresh(body["refresh_token"])
    assert first.status_code == 200, first.text
    assert first.json()["refresh_token"] != body["refresh_token"]
    assert (await refresh(body["refresh_token"])).status_code == 403
    assert (await refresh(first.json()["refresh_token"])).status_code == 403
