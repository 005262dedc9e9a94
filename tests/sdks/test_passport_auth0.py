"""passport-auth0 1.4.5, unmodified, in an Express app: the redirect to /authorize, the code
exchange at /oauth/token with the client secret, and the profile fetch, which sends the token
as ``GET /userinfo?access_token=...`` (RFC 6750 §2.3; Tether answered it 401 before issue 15)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.support import PASSWORD
from tests.sdks.conftest import Live, email
from tests.sdks.support import HERE, NodeApp

pytestmark = pytest.mark.browser


def test_passport_auth0_signs_in_and_fetches_the_profile(live: Live, context: Any) -> None:
    ann = email("ann")
    ann_id = live.signup(ann, client_id=live.web)
    env = live.node_env(
        APP_PORT=str(live.node_port), CLIENT_ID=live.web, CLIENT_SECRET=live.web_secret
    )
    with NodeApp(HERE / "node" / "passport_app.js", env):
        page = context.new_page()
        page.goto(f"http://localhost:{live.node_port}/login")
        page.wait_for_url(lambda u: u.startswith(f"{live.url}/u/login"))
        page.fill("#email", ann)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(lambda u: u.startswith(f"http://localhost:{live.node_port}/callback"))
        outcome = json.loads(page.locator("body").inner_text())
    assert outcome["ok"], outcome
    user = outcome["user"]
    assert user["provider"] == "auth0"
    assert user["id"] == ann_id
    assert user["profile"]["sub"] == ann_id
    assert user["profile"]["email"] == ann
    assert user["idToken"] is True
