"""The dashboard's user page shows whether the email is verified and mails a verification link
with "Send verification mail" (domain/jobs/verification_email.py, as the Management API's job)."""

from __future__ import annotations

import httpx

from tests.dashboard.conftest import new_user
from tests.dashboard.support import PASSWORD, alert, form, notice, sign_in, submit
from tether.bootstrap import Container
from tether.domain.external import ExternalProfile
from tether.domain.log_filter import LogFilter
from tether.domain.models import Connection, LoginTransaction, Tenant, User
from tether.domain.users import NewDatabaseUser
from tether.domain.verification import SUBJECT


async def test_send_verification_mail_from_the_user_page(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    bob = await container.users.create(
        tenant, None, NewDatabaseUser(email="bob@example.com", password=PASSWORD)
    )
    carol = await new_user(container, tenant, "carol@example.com")  # verified
    await sign_in(http, "/dashboard/users", "admin@example.com")

    page = await http.get("/dashboard/user", params={"id": bob.user_id})
    assert 'id="email-state">not verified<' in page.text
    r = await submit(http, form(page.text, "/dashboard/user/verification"))
    assert r.status_code == 200 and "verification link was mailed" in notice(r.text)
    [mail] = [m for m in await container.mail.list(tenant) if m.subject == SUBJECT]
    assert mail.to == "bob@example.com" and "/lo/verify_email?ticket=" in mail.body
    events, _ = await container.logs.page(tenant.id, LogFilter(types=("svr",)), offset=0, limit=10)
    assert [e.user_id for e in events] == [bob.user_id]
    assert events[0].details["actor"] == admin.user_id

    verified = await http.get("/dashboard/user", params={"id": carol.user_id})
    assert 'id="email-state">verified<' in verified.text
    assert "/dashboard/user/verification" not in verified.text

    # A stale form for a user verified since: the page says why, nothing is mailed.
    stale = form(page.text, "/dashboard/user/verification")
    stale.fields["id"] = carol.user_id
    again = await submit(http, stale)
    assert again.status_code == 400
    assert alert(again.text) == "The user's email address is already verified."


async def test_a_squatted_account_is_marked_on_its_page(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    """Classic-federated merge (security-checklist §4.1): a verified sign-in that matched an
    unverified account offered nothing; the account's page says so."""
    squatter = await container.users.create(
        tenant, None, NewDatabaseUser(email="ann@example.com", password=PASSWORD)
    )
    app = await container.applications.get(
        tenant, (await container.applications.list(tenant))[0].client_id
    )
    now = container.clock.now()
    verified = await container.external.sign_in(
        tenant,
        app,
        await _email_connection(container, tenant, app.client_id),
        ExternalProfile(subject="ann@example.com", email="ann@example.com", email_verified=True),
    )
    tx = LoginTransaction(
        id="tx_test",
        tenant_id=tenant.id,
        client_id=app.client_id,
        request={},
        created_at=now,
        expires_at=now,
        user_pk=verified.pk,
        auth_time=now,
    )
    assert await container.sign_in_linking.offer(tenant, app, tx, (), flag=True) is None

    await sign_in(http, "/dashboard/users", "admin@example.com")
    page = await http.get("/dashboard/user", params={"id": squatter.user_id})
    assert 'id="squatter-flag"' in page.text
    other = await http.get("/dashboard/user", params={"id": verified.user_id})
    assert 'id="squatter-flag"' not in other.text


async def _email_connection(container: Container, tenant: Tenant, client_id: str) -> Connection:
    return await container.connections.create(tenant, "email", "email", {}, [client_id])
