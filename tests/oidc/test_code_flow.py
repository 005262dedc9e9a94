"""Basic OP: the code flow and what it issues (oidcc-server, -idtoken-signature, -userinfo-*,
-scope-*, -ensure-request-without-nonce-succeeds-for-code-flow, -codereuse, -refresh-token,
-alternate-happy-flow, -ensure-request-with-unknown-parameter-succeeds, -display-*,
-login-hint, -ui-locales, -claims-locales, -ensure-request-with-acr-values-succeeds,
-response-type-missing) and RFC 9207 ``iss`` / byte-exact ``state``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.oidc.conftest import (
    CALLBACK,
    EMAIL,
    FULL_SCOPE,
    ISSUER,
    OTHER_CALLBACK,
    PROFILE,
    Browser,
    MovableClock,
    Oidc,
    assert_error_page,
    at_hash,
    callback_params,
    jwks,
    location,
    redeem,
    verify_rs256,
)


async def tokens_for(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, **params: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    got = await browser.code(**params)
    response = await redeem(http, oidc.rp, got["code"])
    assert response.status_code == 200, response.text
    return response.json(), got


def check_id_token(
    token: str,
    keys: dict[str, Any],
    *,
    client_id: str,
    clock: MovableClock,
    access_token: str | None,
    nonce: str | None,
) -> dict[str, Any]:
    """PerformStandardIdTokenChecks, condensed."""
    claims = verify_rs256(token, keys)
    now = clock.epoch()
    assert claims["iss"] == ISSUER
    aud = claims["aud"]
    assert client_id == aud or (isinstance(aud, list) and client_id in aud)
    assert claims["azp"] == client_id
    assert isinstance(claims["sub"], str) and claims["sub"]
    assert claims["exp"] > now
    assert now - 300 <= claims["iat"] <= now
    assert claims["auth_time"] <= now
    assert now - claims["auth_time"] < 365 * 86400
    assert isinstance(claims["sid"], str) and claims["sid"]
    if nonce is None:
        assert "nonce" not in claims
    else:
        assert claims["nonce"] == nonce
    if access_token is not None:
        assert claims["at_hash"] == at_hash(access_token)
    assert claims.get("acr") != ""
    return claims


# -- oidcc-server -------------------------------------------------------------------------


@pytest.mark.parametrize("basic", [True, False], ids=["client_secret_basic", "client_secret_post"])
async def test_code_flow_issues_verifiable_tokens(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock, basic: bool
) -> None:
    query = browser.query()
    first = await http.get("/authorize", params=query)
    assert first.status_code in (302, 303)
    answer = await browser.sign_in_from(first)
    got = callback_params(answer)
    assert set(got) == {"code", "state", "iss"}
    assert got["state"] == query["state"]
    assert got["iss"] == ISSUER
    assert answer.headers["cache-control"] == "no-store"

    response = await redeem(http, oidc.rp, got["code"], basic=basic)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert set(body["scope"].split()) == set(FULL_SCOPE.split())
    assert body["refresh_token"]

    keys = await jwks(http)
    kids = [k["kid"] for k in keys["keys"]]
    assert len(kids) == len(set(kids))  # CheckDistinctKeyIdValueInServerJWKs
    claims = check_id_token(
        body["id_token"],
        keys,
        client_id=oidc.rp.client_id,
        clock=clock,
        access_token=body["access_token"],
        nonce=query["nonce"],
    )
    assert claims["sub"] == oidc.user_id
    assert claims["email"] == EMAIL
    assert claims["name"] == PROFILE["name"]
    access = verify_rs256(body["access_token"], keys)
    assert access["sub"] == oidc.user_id


async def test_discovery_matches_what_is_served(http: httpx.AsyncClient, oidc: Oidc) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == ISSUER + "authorize"
    assert "code" in doc["response_types_supported"]
    assert "openid" in doc["scopes_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert doc["end_session_endpoint"] == ISSUER + "oidc/logout"


async def test_request_without_nonce_succeeds_for_code_flow(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    body, _ = await tokens_for(browser, http, oidc, nonce=None)
    check_id_token(
        body["id_token"],
        await jwks(http),
        client_id=oidc.rp.client_id,
        clock=clock,
        access_token=body["access_token"],
        nonce=None,
    )


async def test_nonce_is_echoed_byte_exact(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    nonce = "n-0S6_WzA2Mj+/ü=="
    body, _ = await tokens_for(browser, http, oidc, nonce=nonce)
    assert verify_rs256(body["id_token"], await jwks(http))["nonce"] == nonce


@pytest.mark.parametrize("state", ["a+b/c==", "x y&z=1#frag", "ünïcødé", "%41%2B"])
async def test_state_is_echoed_byte_exact(browser: Browser, state: str) -> None:
    got = await browser.code(state=state)
    assert got["state"] == state


async def test_no_state_means_no_state_in_the_answer(browser: Browser) -> None:
    got = await browser.code(state=None)
    assert "state" not in got


async def test_redirect_uri_must_match_at_the_token_endpoint(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    got = await browser.code()
    for wrong in (OTHER_CALLBACK, None):
        response = await redeem(http, oidc.rp, got["code"], redirect_uri=wrong)
        assert response.status_code == 403
        assert response.json()["error"] == "invalid_grant"
    assert (await redeem(http, oidc.rp, got["code"])).status_code == 200


async def test_code_is_bound_to_its_client(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    other = await oidc.app(name="Other")
    got = await browser.code()
    response = await redeem(http, other, got["code"])
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"
    assert (await redeem(http, oidc.rp, got["code"])).status_code == 200


async def test_wrong_client_secret_is_invalid_client(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    got = await browser.code()
    response = await redeem(http, type(oidc.rp)(oidc.rp.client_id, "wrong"), got["code"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_confidential_client_must_authenticate_to_redeem(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    got = await browser.code()
    response = await redeem(http, type(oidc.rp)(oidc.rp.client_id, ""), got["code"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert (await redeem(http, oidc.rp, got["code"])).status_code == 200


async def test_sign_in_page_expires_with_its_request(browser: Browser, clock: MovableClock) -> None:
    _, form = await browser.open_login(await browser.authorize())
    clock.advance(31 * 60)
    response = await browser.submit(form, email=EMAIL, password="correct horse battery staple")
    assert response.status_code in (400, 404)
    assert "location" not in response.headers
    assert "tether_session" not in browser.http.cookies


# -- oidcc-alternate-happy-flow, unknown parameters, display, hints, locales, acr ---------------


async def test_reordered_scopes_and_extra_parameters_work(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    body, _ = await tokens_for(
        browser,
        http,
        oidc,
        scope="email profile openid",
        extra="foobar",
        display="popup",
        login_hint=EMAIL,
        ui_locales="se",
        claims_locales="se",
        acr_values="1 2",
    )
    assert {"openid", "profile", "email"} <= set(body["scope"].split())


async def test_display_page_does_not_error(browser: Browser) -> None:
    await browser.code(display="page")


async def test_post_request_succeeds(http: httpx.AsyncClient, browser: Browser, oidc: Oidc) -> None:
    """oidcc-ensure-post-request-succeeds (OIDC Core §3.1.2.1: GET and POST are a MUST)."""
    query = browser.query()
    first = await http.post("/authorize", data=query)
    answer = await browser.sign_in_from(first)
    got = callback_params(answer)
    assert got["state"] == query["state"]
    assert (await redeem(http, oidc.rp, got["code"])).status_code == 200


async def test_post_request_errors_are_pages_before_the_client_is_known(
    http: httpx.AsyncClient, browser: Browser
) -> None:
    query = browser.query(client_id="nobody")
    response = await http.post("/authorize", data=query)
    assert_error_page(response)


async def test_missing_response_type_goes_back_to_the_client(browser: Browser) -> None:
    query = browser.query(response_type=None)
    response = await browser.http.get("/authorize", params=query)
    got = callback_params(response)
    assert got["error"] in ("invalid_request", "unsupported_response_type")
    assert got["state"] == query["state"]
    assert got["iss"] == ISSUER


async def test_unsupported_response_type_goes_back_to_the_client(browser: Browser) -> None:
    query = browser.query(response_type="code token")  # a hybrid flow, not served
    response = await browser.http.get("/authorize", params=query)
    got = dict(
        parse_qsl(urlsplit(location(response)).fragment or urlsplit(location(response)).query)
    )
    assert got["error"] == "unsupported_response_type"
    assert got["state"] == query["state"]


# -- oidcc-userinfo-get / -post-header, oidcc-scope-profile / -email ----------------------------


async def test_userinfo_get_and_post(browser: Browser, http: httpx.AsyncClient, oidc: Oidc) -> None:
    body, _ = await tokens_for(browser, http, oidc)
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    sub = verify_rs256(body["id_token"], await jwks(http))["sub"]
    got = await http.get("/userinfo", headers=auth)
    posted = await http.post("/userinfo", headers=auth)
    for response in (got, posted):
        assert response.status_code == 200, response.text
        info = response.json()
        assert info["sub"] == sub
        assert info["email"] == EMAIL
        assert info["name"] == PROFILE["name"]


async def test_userinfo_without_a_token_is_invalid_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/userinfo")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("scope", "present", "absent"),
    [
        (
            "openid profile",
            {"name", "given_name", "family_name", "nickname", "picture", "updated_at"},
            {"email", "email_verified"},
        ),
        (
            "openid email",
            {"email", "email_verified"},
            {"name", "given_name", "nickname", "picture"},
        ),
        ("openid", set(), {"name", "email", "picture"}),
    ],
    ids=["scope-profile", "scope-email", "scope-openid"],
)
async def test_scopes_release_their_claims(
    browser: Browser,
    http: httpx.AsyncClient,
    oidc: Oidc,
    scope: str,
    present: set[str],
    absent: set[str],
) -> None:
    body, _ = await tokens_for(browser, http, oidc, scope=scope)
    info = (
        await http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    ).json()
    assert present <= set(info), info
    assert not absent & set(info), info
    for claim in present & set(PROFILE):
        assert info[claim] == PROFILE[claim]


# -- oidcc-codereuse, -codereuse-30seconds ---------------------------------------------------


async def test_code_reuse_fails_and_revokes_the_refresh_token(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    got = await browser.code()
    first = await redeem(http, oidc.rp, got["code"])
    assert first.status_code == 200
    refresh_token = first.json()["refresh_token"]

    again = await redeem(http, oidc.rp, got["code"])
    assert again.status_code == 403
    assert again.json()["error"] == "invalid_grant"

    refreshed = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": oidc.rp.client_id,
            "client_secret": oidc.rp.client_secret,
        },
    )
    assert refreshed.status_code == 403
    assert refreshed.json()["error"] == "invalid_grant"


async def test_code_reuse_after_30_seconds_fails(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    got = await browser.code()
    assert (await redeem(http, oidc.rp, got["code"])).status_code == 200
    clock.advance(30)
    again = await redeem(http, oidc.rp, got["code"])
    assert again.status_code == 403
    assert again.json()["error"] == "invalid_grant"


async def test_expired_code_fails(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    got = await browser.code()
    clock.advance(61)
    response = await redeem(http, oidc.rp, got["code"])
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"


# -- oidcc-refresh-token ----------------------------------------------------------------------


async def refresh(http: httpx.AsyncClient, client: Any, token: str) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )


async def test_refresh_token_works_rotates_and_is_bound_to_the_client(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    body, got = await tokens_for(browser, http, oidc)
    token = body["refresh_token"]
    # RFC 6749 §A.17: refresh tokens are VSCHAR.
    assert all(0x20 <= ord(ch) <= 0x7E for ch in token)
    first_claims = verify_rs256(body["id_token"], await jwks(http))

    other = await oidc.app(name="Other")
    stolen = await refresh(http, other, token)
    assert stolen.status_code == 403
    assert stolen.json()["error"] == "invalid_grant"

    clock.advance(5)
    response = await refresh(http, oidc.rp, token)
    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["access_token"] != body["access_token"]
    assert renewed["refresh_token"] != token
    claims = check_id_token(
        renewed["id_token"],
        await jwks(http),
        client_id=oidc.rp.client_id,
        clock=clock,
        access_token=renewed["access_token"],
        nonce=None,
    )
    assert claims["sub"] == first_claims["sub"]
    assert claims["auth_time"] == first_claims["auth_time"]
    info = await http.get(
        "/userinfo", headers={"Authorization": f"Bearer {renewed['access_token']}"}
    )
    assert info.json()["sub"] == first_claims["sub"]

    # Rotation: the spent token is refused, and its use revokes the new one too.
    assert (await refresh(http, oidc.rp, token)).status_code == 403
    assert (await refresh(http, oidc.rp, renewed["refresh_token"])).status_code == 403


async def test_no_refresh_token_without_offline_access(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    body, _ = await tokens_for(browser, http, oidc, scope="openid profile")
    assert "refresh_token" not in body


async def test_the_code_redirect_is_303_to_the_registered_callback(
    browser: Browser, http: httpx.AsyncClient
) -> None:
    """RFC 9700 §4.12: never 307 after the credentials' POST."""
    first = await browser.authorize()
    _, form = await browser.open_login(first)
    posted = await browser.submit(form, email=EMAIL, password="correct horse battery staple")
    assert posted.status_code == 303
    answer = await http.get(location(posted))
    assert answer.status_code in (302, 303)
    assert location(answer).startswith(CALLBACK + "?")
