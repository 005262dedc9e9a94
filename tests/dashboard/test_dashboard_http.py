"""The dashboard over HTTP, in process: who gets in, CSRF, and that every action goes through the
domain services with the admin as actor (the same log events as the Management API)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.dashboard.conftest import TEST_ACTOR, make_client, new_user
from tests.dashboard.support import alert, form, login_here, notice, sign_in, submit
from tether.bootstrap import Container
from tether.domain.account import DASHBOARD
from tether.domain.applications import NewApplication
from tether.domain.linking import LinkIdentity
from tether.domain.log_filter import LogFilter
from tether.domain.models import AppType, Tenant, User


async def _events(container: Container, tenant: Tenant, description: str) -> list:  # type: ignore[type-arg]
    events, _ = await container.logs.page(
        tenant.id, LogFilter(types=("sapi",)), offset=0, limit=100
    )
    return [e for e in events if e.description == description]


async def test_without_a_session_the_dashboard_signs_in_through_its_own_app(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    r = await http.get("/dashboard/users?q=x")
    assert r.status_code == 303
    url = urlsplit(r.headers["location"])
    assert url.path == "/authorize"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    app = await container.hosted_apps.ensure(tenant, DASHBOARD)
    assert app.name == "Tether Dashboard" and app.is_first_party
    assert q["client_id"] == app.client_id
    assert q["redirect_uri"] == tenant.issuer + "dashboard/callback"
    assert q["code_challenge_method"] == "S256" and q["nonce"] and q["state"]
    assert "prompt" not in q
    # The state is bound to this browser by a cookie scoped to the callback.
    assert "tether_flow=" in r.headers["set-cookie"]
    assert "Path=/dashboard/callback" in r.headers["set-cookie"]
    # Every connection lets the dashboard's app sign in.
    for connection in await container.connections.list(tenant):
        assert app.client_id in connection.enabled_clients


async def test_an_admin_comes_back_to_the_page_asked_for(
    http: httpx.AsyncClient, admin: User
) -> None:
    r = await sign_in(http, "/dashboard/users?q=email%3Aadmin%40example.com", "admin@example.com")
    assert r.status_code == 200
    assert r.url.path == "/dashboard/users" and "admin%40example.com" in str(r.url)
    assert "Ada Admin" in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"


async def test_a_non_admin_is_refused_with_403(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    await new_user(container, tenant, "eve@example.com")
    r = await sign_in(http, "/dashboard/users", "eve@example.com")
    assert r.status_code == 403
    assert "don't have access" in r.text and "eve@example.com" in r.text
    for path in ("/dashboard/logs", "/dashboard/keys", "/dashboard/user?id=x"):
        assert (await http.get(path)).status_code == 403
    # A form posted anyway changes nothing.
    page = await http.get("/dashboard/users")
    token = form(page.text, "/dashboard/logout").fields["csrf"]
    r = await http.post("/dashboard/keys/rotate", data={"csrf": token})
    assert r.status_code == 403
    assert not await _events(container, tenant, "Rotate the signing keys")


async def test_a_form_posted_after_the_session_ended_signs_in_back_to_its_page(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    """The guard of a POST sends a browser without a session to sign in, back to the page the
    form was on (a user's, an application's), and the POST itself is not replayed."""
    bob = await new_user(container, tenant, "bob@example.com")
    created = await container.applications.register(
        tenant, NewApplication(name="Shop", app_type=AppType.SPA), TEST_ACTOR
    )
    client_id = created.application.client_id
    await sign_in(http, "/dashboard/users", "admin@example.com")
    user_page = await http.get(f"/dashboard/user?id={bob.user_id}")
    block = form(user_page.text, "/dashboard/user/block")
    app_page = await http.get(f"/dashboard/applications/{client_id}")
    rename = form(app_page.text, f"/dashboard/applications/{client_id}")
    for posted, values, back, back_id in (
        (block, {}, "/dashboard/user", bob.user_id),
        (rename, {"name": "Renamed"}, f"/dashboard/applications/{client_id}", None),
    ):
        http.cookies.delete("tether_session")
        r = await submit(http, posted, follow=False, **values)
        assert r.status_code == 303
        assert urlsplit(r.headers["location"]).path == "/authorize"
        login = await http.get(r.headers["location"], follow_redirects=True)
        r = await login_here(http, login, "admin@example.com")
        assert r.status_code == 200
        assert r.url.path == back and r.url.params.get("id") == back_id
    assert not (await container.user_admin.get(tenant.id, bob.user_id)).blocked
    assert (await container.applications.get(tenant, client_id)).name == "Shop"


async def test_a_callback_from_another_browser_is_refused(
    http: httpx.AsyncClient, container: Container, admin: User
) -> None:
    r = await http.get("/dashboard/users", follow_redirects=True)
    login = form(r.text, "/u/login")
    r = await submit(
        http,
        login,
        follow=False,
        email="admin@example.com",
        password="correct horse battery staple",
    )
    r = await http.get(r.headers["location"])  # /authorize/resume -> the callback
    callback = r.headers["location"]
    async with make_client(container) as other:
        r = await other.get(callback)
        assert r.status_code == 400
        assert "did not start in this browser" in r.text
    # In the right browser it works once; a replay is refused.
    assert (await http.get(callback)).status_code == 303
    r = await http.get(callback)
    assert r.status_code == 400


async def test_csrf_is_checked_before_anything_runs(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    bob = await new_user(container, tenant, "bob@example.com")
    await sign_in(http, "/dashboard/users", "admin@example.com")
    for data in ({}, {"csrf": "x" * 64}):
        r = await http.post(
            "/dashboard/user/block", data={"id": bob.user_id, "blocked": "true", **data}
        )
        assert r.status_code == 403
        assert "expired" in alert(r.text)
    # A token made for the account page's forms is not one for the dashboard's.
    account = await http.get("/account")
    token = form(account.text, "/account/link").fields["csrf"]
    r = await http.post(
        "/dashboard/user/block", data={"id": bob.user_id, "blocked": "true", "csrf": token}
    )
    assert r.status_code == 403
    assert not (await container.user_admin.get(tenant.id, bob.user_id)).blocked


async def test_unlink_link_metadata_block_and_delete_write_log_events_as_the_admin(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    bob = await new_user(container, tenant, "bob@example.com", name="Bob")
    carol = await new_user(container, tenant, "carol@example.com")
    dave = await new_user(container, tenant, "dave@example.com")
    provider, subject = carol.user_id.split("|")
    await container.linking.link(tenant, bob.user_id, LinkIdentity(provider, subject), TEST_ACTOR)
    await sign_in(http, "/dashboard/users", "admin@example.com")
    app = await container.hosted_apps.ensure(tenant, DASHBOARD)

    page = await http.get("/dashboard/user", params={"id": bob.user_id})
    assert page.status_code == 200
    assert "carol@example.com" in page.text and "Linked by tests (server side" in page.text
    r = await submit(http, form(page.text, "/dashboard/user/unlink", identity=subject))
    assert r.status_code == 200 and "unlinked" in notice(r.text)
    assert len((await container.user_admin.get(tenant.id, bob.user_id)).identities) == 1
    [unlinked] = await _events(container, tenant, "Unlink an identity")
    assert unlinked.client_id == app.client_id
    assert unlinked.details["actor"]["user_id"] == admin.user_id

    r = await submit(http, form(r.text, "/dashboard/user/link"), secondary=dave.user_id)
    assert "linked into this one" in notice(r.text)
    [linked] = [
        e
        for e in await _events(container, tenant, "Link an identity")
        if e.client_id == app.client_id
    ]
    assert linked.details["method"] == "server_side"
    assert linked.details["actor"] == {
        "client_id": app.client_id,
        "user_id": admin.user_id,
        "ip": "127.0.0.1",
    }

    r = await submit(
        http,
        form(r.text, "/dashboard/user/metadata"),
        user_metadata='{"theme": "dark"}',
        app_metadata='{"plan": "pro"}',
    )
    assert "Saved" in notice(r.text)
    saved = await container.user_admin.get(tenant.id, bob.user_id)
    assert saved.user_metadata == {"theme": "dark"} and saved.app_metadata == {"plan": "pro"}
    r = await submit(
        http,
        form(r.text, "/dashboard/user/metadata"),
        user_metadata="{}",
        app_metadata='{"plan": "pro"}',
    )
    assert (await container.user_admin.get(tenant.id, bob.user_id)).user_metadata == {}

    r = await submit(http, form(r.text, "/dashboard/user/block"))
    assert (await container.user_admin.get(tenant.id, bob.user_id)).blocked
    r = await submit(http, form(r.text, "/dashboard/user/block"))
    assert not (await container.user_admin.get(tenant.id, bob.user_id)).blocked
    updates = await _events(container, tenant, "Update a user")
    assert len(updates) == 4 and all(e.details["actor"] == admin.user_id for e in updates)

    confirm = await http.get("/dashboard/user/delete", params={"id": bob.user_id})
    assert "can't be undone" in confirm.text
    r = await submit(http, form(confirm.text, "/dashboard/user/delete"))
    assert r.url.path == "/dashboard/users" and "deleted" in notice(r.text)
    [deleted] = await _events(container, tenant, "Delete a user")
    assert deleted.client_id == app.client_id


async def test_metadata_that_is_not_a_json_object_is_refused_and_kept_in_the_form(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    bob = await new_user(container, tenant, "bob@example.com")
    await sign_in(http, "/dashboard/users", "admin@example.com")
    page = await http.get("/dashboard/user", params={"id": bob.user_id})
    for text, message in (("{nope", "not valid JSON"), ("[1, 2]", "must be a JSON object")):
        r = await submit(http, form(page.text, "/dashboard/user/metadata"), user_metadata=text)
        assert r.status_code == 400
        assert message in alert(r.text)
        assert text.replace('"', "&#34;") in r.text or text in r.text
    deep = "[" * 5000
    r = await submit(http, form(page.text, "/dashboard/user/metadata"), user_metadata=deep)
    assert r.status_code == 400 and "not valid JSON" in alert(r.text)
    big = '{"k": "' + "x" * 17000 + '"}'
    r = await submit(http, form(page.text, "/dashboard/user/metadata"), user_metadata=big)
    assert r.status_code == 400 and "at most" in alert(r.text)
    assert (await container.user_admin.get(tenant.id, bob.user_id)).user_metadata == {}


async def test_a_bad_search_says_why(http: httpx.AsyncClient, admin: User) -> None:
    await sign_in(http, "/dashboard/users", "admin@example.com")
    r = await http.get("/dashboard/users", params={"q": "email:("})
    assert r.status_code == 400
    assert alert(r.text)


async def test_logs_filter_and_detail(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    await sign_in(http, "/dashboard/users", "admin@example.com")
    r = await http.get("/dashboard/logs", params={"type": "s", "user": admin.user_id})
    assert r.status_code == 200
    events, total = await container.logs.page(
        tenant.id, LogFilter(types=("s",), user_id=admin.user_id), offset=0, limit=5
    )
    assert total == 1 and f"/dashboard/logs/{events[0].log_id}" in r.text
    detail = await http.get(f"/dashboard/logs/{events[0].log_id}")
    assert detail.status_code == 200 and "&#34;type&#34;: &#34;s&#34;" in detail.text
    assert (await http.get("/dashboard/logs/nope")).status_code == 404


async def test_applications_apis_connections_and_keys(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    await sign_in(http, "/dashboard/users", "admin@example.com")
    page = await http.get("/dashboard/applications")
    r = await submit(
        http,
        form(page.text, "/dashboard/applications"),
        name="Shop",
        app_type="spa",
        callbacks="https://shop.example.com/cb",
        web_origins="https://shop.example.com",
    )
    assert r.status_code == 200 and "Created" in notice(r.text)
    client_id = r.url.path.rsplit("/", 1)[1]
    r = await submit(http, form(r.text, f"/dashboard/applications/{client_id}"), name="Shop 2")
    assert (await container.applications.get(tenant, client_id)).name == "Shop 2"
    app_form = f"/dashboard/applications/{client_id}"
    assert (
        await container.applications.get(tenant, client_id)
    ).cross_origin_authentication is False
    # Issue 15: Auth0's "Allow Cross-Origin Authentication" is a box on the same form.
    r = await submit(http, form(r.text, app_form), cross_origin_authentication="on")
    assert (await container.applications.get(tenant, client_id)).cross_origin_authentication
    checked = form(r.text, app_form)
    assert checked.fields["cross_origin_authentication"] == "on"
    unchecked = {k: v for k, v in checked.fields.items() if k != "cross_origin_authentication"}
    r = await http.post(app_form, data=unchecked, follow_redirects=True)
    assert r.status_code == 200
    assert (
        await container.applications.get(tenant, client_id)
    ).cross_origin_authentication is False
    r = await submit(
        http, form(r.text, f"/dashboard/applications/{client_id}"), callbacks="not a url"
    )
    assert r.status_code == 400 and alert(r.text)

    page = await http.get("/dashboard/apis")
    r = await submit(
        http,
        form(page.text, "/dashboard/apis"),
        name="Orders",
        identifier="https://orders",
        scopes="read:orders",
    )
    assert "Created" in notice(r.text)
    assert (await container.apis.get(tenant, "https://orders")).scope_values == ["read:orders"]

    page = await http.get("/dashboard/connections")
    r = await submit(
        http, form(page.text, "/dashboard/connections"), name="Staff", strategy="auth0"
    )
    assert "Created" in notice(r.text)

    keys_before = {k.kid: k.state for k in await container.keys.list(tenant)}
    page = await http.get("/dashboard/keys")
    r = await submit(http, form(page.text, "/dashboard/keys/rotate"))
    assert "rotated" in notice(r.text)
    assert {k.kid: k.state for k in await container.keys.list(tenant)} != keys_before
    assert await _events(container, tenant, "Rotate the signing keys")
    assert await _events(container, tenant, "Create a client")
    assert await _events(container, tenant, "Create a resource server")
    assert await _events(container, tenant, "Create a connection")


async def test_rotate_an_application_secret(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    """The button shows the new secret once, on the answer itself (no redirect, no URL)."""
    created = await container.applications.create(
        tenant, NewApplication(name="Backend", app_type=AppType.REGULAR_WEB)
    )
    client_id, old = created.application.client_id, created.client_secret
    page = await sign_in(http, f"/dashboard/applications/{client_id}", "admin@example.com")
    rotate = form(page.text, f"/dashboard/applications/{client_id}/rotate-secret")
    r = await http.post(rotate.action, data=rotate.fields)
    assert r.status_code == 200, r.text
    new = container.applications.secret_of(await container.applications.get(tenant, client_id))
    assert new and new != old
    assert f"<code>{new}</code>" in r.text
    assert r.headers["cache-control"].startswith("no-store")
    # A public application has no secret, so no button.
    spa = await container.applications.create(
        tenant, NewApplication(name="SPA", app_type=AppType.SPA, callbacks=("https://a.test/",))
    )
    shown = await http.get(f"/dashboard/applications/{spa.application.client_id}")
    assert "rotate-secret" not in shown.text
