"""django-allauth 65.21.1's Auth0 provider, unmodified, in a Django 5.2 site
(tests/sdks/allauth_app.py, run with .venv-allauth's python): the redirect to /authorize, the
code exchange at /oauth/token with the client secret, and the profile fetch, which sends the
token as ``GET /userinfo?access_token=...`` (RFC 6750 §2.3; Tether answered it 401 before
issue 15). The only setting naming Tether is ``AUTH0_URL``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import PASSWORD
from tests.management_sdk.conftest import SdkEnv
from tests.sdks.conftest import Live, email
from tests.sdks.support import HERE, NodeApp

pytestmark = pytest.mark.browser

ALLAUTH = SdkEnv(
    "django-allauth 65", HERE.parents[1] / ".venv-allauth", HERE / "requirements-allauth.txt"
)


def test_allauth_auth0_provider_signs_in_and_reads_the_profile(live: Live, context: Any) -> None:
    python = ALLAUTH.check()
    ann = email("ann")
    ann_id = live.signup(ann, client_id=live.web)
    site = f"http://localhost:{live.node_port}"
    with tempfile.TemporaryDirectory(prefix="tether-allauth-") as data:
        env = {
            **live.node_env(),
            "APP_PORT": str(live.node_port),
            "APP_DATA": data,
            "AUTH0_URL": live.url,
            "CLIENT_ID": live.web,
            "CLIENT_SECRET": live.web_secret,
            "REQUESTS_CA_BUNDLE": str(live.ca),  # Tether's TLS front, for requests
        }
        with NodeApp(HERE / "allauth_app.py", env, interpreter=str(python)):
            page = context.new_page()
            page.goto(f"{site}/accounts/auth0/login/")
            page.wait_for_url(lambda u: u.startswith(f"{live.url}/u/login"))
            page.fill("#email", ann)
            page.fill("#password", PASSWORD)
            page.click("form button[type=submit]")
            try:
                page.wait_for_url(f"{site}/me")
            except Exception:
                text = page.locator("body").inner_text()[:800]
                raise AssertionError(f"at {page.url}: {text}") from None
            me = json.loads(page.locator("body").inner_text())
        assert Path(data, "db.sqlite3").is_file()
    assert me["authenticated"] is True, me
    assert me["uid"] == ann_id  # allauth's uid is the userinfo's sub
    assert me["email"] == ann
    assert me["extra_data"]["sub"] == ann_id
    assert me["extra_data"]["email"] == ann
