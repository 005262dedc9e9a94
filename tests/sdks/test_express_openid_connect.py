"""express-openid-connect 3.4.0, unmodified, in an Express app behind a TLS front: its default
flow (``response_type=id_token``, ``response_mode=form_post``: the ID token posted to the app's
/callback and checked against Tether's discovery and JWKS), the authorization code flow with the
client secret and ``req.oidc.fetchUserInfo()``, and its logout (``idpLogout``: Tether's
``end_session_endpoint``, back to the app)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.support import PASSWORD
from tests.sdks.conftest import Live, email
from tests.sdks.support import HERE, NodeApp

pytestmark = pytest.mark.browser

APP = HERE / "node" / "express_oidc_app.js"


def _app(live: Live, mode: str) -> NodeApp:
    env = live.node_env(
        APP_PORT=str(live.node_port),
        ISSUER=live.issuer,
        BASE_URL=f"https://localhost:{live.node_tls_port}",
        CLIENT_ID=live.web,
        CLIENT_SECRET=live.web_secret,
        MODE=mode,
    )
    return NodeApp(APP, env)


def _json(page: Any) -> Any:
    return json.loads(page.locator("body").inner_text())


def _back_at(page: Any, url: str) -> None:
    """Wait for ``url``; if the flow stopped elsewhere, say where and what that page said."""
    try:
        page.wait_for_url(url)
    except Exception:
        raise AssertionError(f"at {page.url}: {page.locator('body').inner_text()[:800]}") from None


def _sign_in(live: Live, page: Any, address: str) -> Any:
    base = f"https://localhost:{live.node_tls_port}"
    page.goto(f"{base}/login")
    page.wait_for_url(lambda u: u.startswith(f"{live.url}/u/login"))
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    _back_at(page, f"{base}/")
    return _json(page)


def test_default_id_token_form_post_then_logout(live: Live, context: Any) -> None:
    ann = email("ann")
    ann_id = live.signup(ann, client_id=live.web)
    with _app(live, "implicit"):
        page = context.new_page()
        state = _sign_in(live, page, ann)
        assert state["authenticated"] is True, state
        assert state["user"]["sub"] == ann_id
        assert state["user"]["email"] == ann
        assert state["hasAccessToken"] is False  # id_token alone, as the library asks

        # /logout: the app's session ends, then Tether's (end_session_endpoint), and back.
        base = f"https://localhost:{live.node_tls_port}"
        # First let the page's own requests end: the browser fetches /favicon.ico after "/",
        # and the library's rolling session answers every request with a fresh session
        # cookie, so a favicon answer arriving after /logout's would sign the app in again
        # (seen once in a full CI run).
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}/logout")
        _back_at(page, f"{base}/")
        assert _json(page)["authenticated"] is False
        # Tether's session ended too: signing in again asks for the password.
        page.goto(f"{base}/login")
        page.wait_for_url(lambda u: u.startswith(f"{live.url}/u/login"))


def test_code_flow_with_the_client_secret_and_userinfo(live: Live, context: Any) -> None:
    bea = email("bea")
    bea_id = live.signup(bea, client_id=live.web)
    with _app(live, "code"):
        page = context.new_page()
        state = _sign_in(live, page, bea)
        assert state["authenticated"] is True, state
        assert state["user"]["sub"] == bea_id
        assert state["hasAccessToken"] is True
        page.goto(f"https://localhost:{live.node_tls_port}/userinfo")
        info = _json(page)
        assert info["ok"], info
        assert info["userinfo"]["sub"] == bea_id
        assert info["userinfo"]["email"] == bea
