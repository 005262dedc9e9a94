"""/dashboard/jobs: an admin sees the tenant's import and export jobs with their progress."""

from __future__ import annotations

import json

import httpx

from tests.dashboard.conftest import admin, clock, container, http, new_user, tenant
from tests.dashboard.support import sign_in
from tether.bootstrap import Container
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.models import Tenant, User

__all__ = ["admin", "clock", "container", "http", "tenant"]


async def test_the_jobs_page_lists_jobs_with_progress(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, admin: User
) -> None:
    connection = await container.connections.by_name(tenant, DEFAULT_DATABASE)
    users = [{"email": f"d{i}@example.com"} for i in range(4)] + [{"email": "bad"}]
    done = await container.jobs.create_import(
        tenant, connection.id, json.dumps(users).encode(), external_id="from-auth0"
    )
    while await container.jobs.run_next():
        pass
    waiting = await container.jobs.create_export(tenant, format_="csv")
    page = await sign_in(http, "/dashboard/jobs", "admin@example.com")
    assert page.status_code == 200
    text = page.text
    assert done.id in text and waiting.id in text and "from-auth0" in text
    assert 'value="100"' in text and "5 of 5" in text
    assert "completed" in text and "pending" in text
    assert page.headers["refresh"] == "5"  # work under way: the page refreshes itself
    assert 'aria-current="page"' in text


async def test_a_non_admin_does_not_see_jobs(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    await new_user(container, tenant, "someone@example.com")
    page = await sign_in(http, "/dashboard/jobs", "someone@example.com")
    assert page.status_code == 403


async def test_send_completion_email_mails_the_tenants_admins(
    container: Container, tenant: Tenant, admin: User
) -> None:
    """Auth0's send_completion_email: the tenant's owners (Tether: its admins) are told."""
    connection = await container.connections.by_name(tenant, DEFAULT_DATABASE)
    quiet = await container.jobs.create_import(
        tenant, connection.id, b'[{"email": "q@example.com"}]', send_completion_email=False
    )
    told = await container.jobs.create_import(  # Auth0's default: true
        tenant, connection.id, b'[{"email": "t@example.com"}, {"email": "bad"}]'
    )
    while await container.jobs.run_next():
        pass
    mails = [m for m in await container.mail.list(tenant) if m.subject.startswith("Users import")]
    assert [(m.to, m.subject) for m in mails] == [
        ("admin@example.com", "Users import job completed")
    ]
    assert told.id in mails[0].body and quiet.id not in mails[0].body
    assert "1 inserted, 0 updated, 1 failed of 2" in mails[0].body
