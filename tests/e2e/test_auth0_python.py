"""auth0-python's real authentication classes against a live ``tether serve`` (protocol="http").

The domain is ``localhost:<port>``: the default tenant's issuer is ``http://localhost:<port>/``,
and TokenVerifier compares ``iss`` with it exactly.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from auth0.authentication import Database, GetToken, Users
from auth0.authentication.exceptions import Auth0Error, TokenValidationError
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

from tests.e2e.conftest import DATABASE_CONNECTION, Server

pytestmark = pytest.mark.e2e

SCOPE = "openid profile email offline_access"
#: Every process serves a rotated key within 1 s (domain/configuration.py); slack for slow logins.
KEY_CACHE_WAIT = 20.0


def header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def verifier(server: Server) -> TokenVerifier:
    return TokenVerifier(
        AsymmetricSignatureVerifier(server.jwks_url), server.issuer, server.app.client_id
    )


def signup(server: Server) -> tuple[str, str, dict[str, Any]]:
    email = f"user-{secrets.token_hex(4)}@example.com"
    password = f"pw {secrets.token_urlsafe(12)} long enough"
    server.secrets.add(password)
    body = Database(server.domain, server.app.client_id, protocol="http").signup(
        email=email, password=password, connection=DATABASE_CONNECTION
    )
    return email, password, body


def login(server: Server, email: str, password: str) -> dict[str, Any]:
    tokens: dict[str, Any] = GetToken(
        server.domain, server.app.client_id, server.app.client_secret, protocol="http"
    ).login(email, password, scope=SCOPE, realm=DATABASE_CONNECTION)
    server.secrets.add(tokens["refresh_token"])
    return tokens


def test_signup_login_verify_and_userinfo(server: Server) -> None:
    email, password, body = signup(server)
    assert body["email"] == email
    assert body["email_verified"] is False
    assert body["_id"] and "|" not in body["_id"]

    tokens = login(server, email, password)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] > 0
    assert set(tokens["scope"].split()) == set(SCOPE.split())
    assert tokens["access_token"] and tokens["refresh_token"]

    claims = verifier(server).verify(tokens["id_token"])
    assert claims["iss"] == server.issuer
    assert claims["aud"] == server.app.client_id
    assert claims["sub"] == f"auth0|{body['_id']}"
    assert claims["email"] == email

    info = Users(server.domain, protocol="http").userinfo(tokens["access_token"])
    assert info["sub"] == claims["sub"]
    assert info["email"] == email
    assert info["email_verified"] is False


def test_refresh_token_grant(server: Server) -> None:
    email, password, _ = signup(server)
    first = login(server, email, password)
    client = GetToken(
        server.domain, server.app.client_id, server.app.client_secret, protocol="http"
    )
    refreshed = client.refresh_token(first["refresh_token"])
    if "refresh_token" in refreshed:
        server.secrets.add(refreshed["refresh_token"])
    assert refreshed["token_type"] == "Bearer"
    assert refreshed["access_token"] != first["access_token"]
    claims = verifier(server).verify(refreshed["id_token"])
    assert claims["email"] == email
    info = Users(server.domain, protocol="http").userinfo(refreshed["access_token"])
    assert info["sub"] == claims["sub"]

    with pytest.raises(Auth0Error) as bogus:
        client.refresh_token("not-a-refresh-token")
    assert (bogus.value.status_code, bogus.value.error_code) == (403, "invalid_grant")


def test_client_credentials_for_the_management_api(server: Server) -> None:
    audience = server.env.management_audience
    tokens = GetToken(
        server.domain, server.machine.client_id, server.machine.client_secret, protocol="http"
    ).client_credentials(audience=audience)
    assert tokens["token_type"] == "Bearer"
    assert "id_token" not in tokens and "refresh_token" not in tokens
    assert {"read:users", "create:users"} <= set(tokens["scope"].split())
    # The signature checks out against the published JWKS; the claims name the machine client.
    claims = AsymmetricSignatureVerifier(server.jwks_url).verify_signature(tokens["access_token"])
    assert claims["iss"] == server.issuer
    assert claims["aud"] == audience
    assert claims["sub"] == f"{server.machine.client_id}@clients"

    # The Default App has the grant type but no client grant for the Management API.
    with pytest.raises(Auth0Error) as denied:
        GetToken(
            server.domain, server.app.client_id, server.app.client_secret, protocol="http"
        ).client_credentials(audience=audience)
    assert (denied.value.status_code, denied.value.error_code) == (403, "access_denied")


def test_wrong_credentials_are_rejected(server: Server) -> None:
    email, password, _ = signup(server)
    client = GetToken(
        server.domain, server.app.client_id, server.app.client_secret, protocol="http"
    )
    for username, pw in ((email, password + "x"), ("nobody@example.com", password)):
        with pytest.raises(Auth0Error) as wrong:
            client.login(username, pw, scope=SCOPE, realm=DATABASE_CONNECTION)
        assert wrong.value.status_code == 403
        assert wrong.value.error_code == "invalid_grant"
        assert wrong.value.message == "Wrong email or password."

    bad_secret = "not-the-secret-" + secrets.token_hex(8)
    server.secrets.add(bad_secret)
    with pytest.raises(Auth0Error) as unknown_client:
        GetToken(server.domain, server.app.client_id, bad_secret, protocol="http").login(
            email, password, scope=SCOPE, realm=DATABASE_CONNECTION
        )
    assert (unknown_client.value.status_code, unknown_client.value.error_code) == (
        401,
        "invalid_client",
    )

    with pytest.raises(Auth0Error) as exists:
        Database(server.domain, server.app.client_id, protocol="http").signup(
            email=email, password=password, connection=DATABASE_CONNECTION
        )
    assert (exists.value.status_code, exists.value.error_code) == (400, "user_exists")

    with pytest.raises(Auth0Error) as bad_token:
        Users(server.domain, protocol="http").userinfo("not-a-token")
    assert (bad_token.value.status_code, bad_token.value.error_code) == (401, "invalid_token")


def test_change_password_puts_a_reset_mail_in_the_outbox(server: Server) -> None:
    email, _, _ = signup(server)
    answer = Database(server.domain, server.app.client_id, protocol="http").change_password(
        email=email, connection=DATABASE_CONNECTION
    )
    assert answer == "We've just sent you an email to reset your password."
    # Unknown addresses get the same answer (no account enumeration) and no mail.
    other = Database(server.domain, server.app.client_id, protocol="http").change_password(
        email="nobody-at-all@example.com", connection=DATABASE_CONNECTION
    )
    assert other == answer

    # Sign-up mailed a verification link too; the reset is the one about the password.
    mails = [m for m in server.env.json("mail", "list") if m["subject"] == "Reset your password"]
    assert [m["to"] for m in mails].count(email) == 1, mails
    assert "nobody-at-all@example.com" not in [m["to"] for m in mails]
    mail = next(m for m in mails if m["to"] == email)
    assert "password" in mail["subject"].lower()
    assert f"{server.issuer}lo/reset?ticket=" in mail["body"]


def test_tenants_are_picked_by_host(server: Server) -> None:
    """A request's Host picks the tenant; the default tenant answers every other host."""
    port = server.env.port
    acme_host = f"acme.localhost:{port}"
    assert server.acme["issuer"] == f"http://{acme_host}/"

    def get(path: str, host: str) -> Any:
        response = httpx.get(f"{server.base_url}{path}", headers={"Host": host})
        assert response.status_code == 200, response.text
        return response.json()

    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"other.localhost:{port}"):
        assert get("/.well-known/openid-configuration", host)["issuer"] == server.issuer
    acme = get("/.well-known/openid-configuration", acme_host)
    assert acme["issuer"] == server.acme["issuer"]
    assert acme["jwks_uri"] == f"http://{acme_host}/.well-known/jwks.json"

    default_kids = {k["kid"] for k in get("/.well-known/jwks.json", f"localhost:{port}")["keys"]}
    acme_kids = {k["kid"] for k in get("/.well-known/jwks.json", acme_host)["keys"]}
    assert default_kids and acme_kids and not default_kids & acme_kids

    # The default tenant's applications do not exist in acme.
    denied = httpx.post(
        f"{server.base_url}/oauth/token",
        headers={"Host": acme_host},
        json={
            "grant_type": "client_credentials",
            "client_id": server.machine.client_id,
            "client_secret": server.machine.client_secret,
            "audience": f"http://{acme_host}/api/v2/",
        },
    )
    assert denied.status_code == 401, denied.text
    assert denied.json()["error"] == "invalid_client"


def test_key_rotation(server: Server) -> None:
    """``tether keys rotate`` run beside the server.

    The server publishes its next key before it signs with it, so a verifier that fetched the
    JWKS before a rotation already knows the key that signs after it. Tokens signed by the
    previous key keep verifying; after a second rotation a verifier meets a kid it has never
    seen and must refetch, and the first key, now retired, is no longer published.
    """
    email, password, _ = signup(server)
    old = login(server, email, password)["id_token"]
    original = header(old)["kid"]
    early = verifier(server)  # caches the JWKS as it is before any rotation
    early.verify(old)
    before = {k["kid"] for k in httpx.get(server.jwks_url).json()["keys"]}
    assert original in before and len(before) == 2  # current and next

    machine = GetToken(
        server.domain, server.machine.client_id, server.machine.client_secret, protocol="http"
    )

    def rotate() -> dict[str, str]:
        rotated = {k["state"]: k["kid"] for k in server.env.json("keys", "rotate")}
        assert set(rotated) == {"previous", "current", "next"}, rotated
        return rotated

    def wait_for_signing_kid(kid: str) -> str:
        """Poll (client credentials: no password hashing) until the server signs with ``kid``,
        which happens when its key cache expires; then log in for an ID token."""
        start = time.monotonic()
        while True:
            access = machine.client_credentials(audience=server.env.management_audience)
            if header(access["access_token"])["kid"] == kid:
                break
            waited = time.monotonic() - start
            assert waited < KEY_CACHE_WAIT, f"the server still signs with the old key ({waited}s)"
            time.sleep(0.25)
        token = login(server, email, password)["id_token"]
        assert header(token)["kid"] == kid
        return str(token)

    first = rotate()
    assert first["previous"] == original
    assert first["current"] in before - {original}
    assert first["next"] not in before
    new = wait_for_signing_kid(first["current"])
    for v in (early, verifier(server)):
        assert v.verify(old)["email"] == email
        assert v.verify(new)["email"] == email
    published = {k["kid"] for k in httpx.get(server.jwks_url).json()["keys"]}
    assert published == set(first.values())

    second = rotate()
    assert (second["previous"], second["current"]) == (first["current"], first["next"])
    newest = wait_for_signing_kid(second["current"])
    assert early.verify(newest)["email"] == email  # an unknown kid: the verifier refetched
    assert early.verify(new)["email"] == email
    with pytest.raises(TokenValidationError):
        verifier(server).verify(old)  # its key is retired and unpublished

    listed = server.env.json("keys", "list", "--retired")
    assert {k["kid"]: k["state"] for k in listed}[original] == "retired"


def test_server_output_has_no_secrets(server: Server) -> None:
    """Runs last: by now every test above has sent its passwords and secrets to the server."""
    output = server.output()
    assert server.secrets
    leaked = [s for s in server.secrets if s in output]
    assert not leaked, f"{len(leaked)} secret(s) in the server's output:\n{output}"
    assert "Traceback" not in output, output
