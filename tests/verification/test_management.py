"""``POST /api/v2/jobs/verification-email`` and ``POST /api/v2/tickets/email-verification``
(Auth0 Management API v2, "Jobs" and "Tickets"), by hand and through auth0-python 6
(``client.jobs.verification_email.create``, ``client.tickets.verify_email``): Auth0's bodies,
scopes (``update:users``, ``create:user_tickets``), error shapes and the per-user limit."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from auth0.management import AsyncAuth0
from auth0.management.core.api_error import ApiError

from tests.conftest import World
from tests.domain.conftest import FakeClock
from tests.linking.support import API, bearer, machine_token, management_error
from tests.management.conftest import machine_token as scoped_token
from tests.security.support_s2_linking import mails, sign_up
from tests.verification.test_email_verification import (
    EMAIL,
    open_link,
    use_link,
    user,
    verification_links,
)
from tether.domain.verification import SUBJECT


async def test_the_job_mails_a_link_and_is_completed(http: httpx.AsyncClient, world: World) -> None:
    user_id = await sign_up(http, world, EMAIL)
    token = await machine_token(http, world.machine)
    created = await http.post(
        f"{API}/jobs/verification-email", json={"user_id": user_id}, headers=bearer(token)
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["type"] == "verification_email" and job["status"] == "completed"
    assert job["id"].startswith("job_") and job["created_at"].endswith("Z")
    assert set(job) == {"type", "status", "created_at", "id"}
    read = await http.get(f"{API}/jobs/{job['id']}", headers=bearer(token))
    assert read.status_code == 200 and read.json() == job
    links = await verification_links(world)
    assert len(links) == 2  # the sign-up's and the job's
    assert (await use_link(http, links[-1])).status_code == 200
    assert (await user(world, user_id)).email_verified is True


async def test_the_job_answers_in_auth0s_error_shape(http: httpx.AsyncClient, world: World) -> None:
    user_id = await sign_up(http, world, EMAIL)
    token = await machine_token(http, world.machine)
    post = "/jobs/verification-email"

    unknown = await http.post(
        f"{API}{post}", json={"user_id": "auth0|nobody"}, headers=bearer(token)
    )
    management_error(unknown, 404, "The user does not exist.")
    missing = await http.post(f"{API}{post}", json={}, headers=bearer(token))
    assert missing.status_code == 400 and missing.json()["errorCode"] == "invalid_body"
    extra = await http.post(
        f"{API}{post}", json={"user_id": user_id, "surprise": 1}, headers=bearer(token)
    )
    assert extra.status_code == 400
    org = await http.post(
        f"{API}{post}", json={"user_id": user_id, "organization_id": "org_1"}, headers=bearer(token)
    )
    management_error(org, 400, "Organizations are not supported by this server.")
    other_identity = await http.post(
        f"{API}{post}",
        json={"user_id": user_id, "identity": {"user_id": "123", "provider": "github"}},
        headers=bearer(token),
    )
    management_error(
        other_identity, 400, "Only the address of the user's primary identity can be verified."
    )
    narrow = await scoped_token(http, world, "read:users")
    refused = await http.post(f"{API}{post}", json={"user_id": user_id}, headers=bearer(narrow))
    management_error(refused, 403, "Insufficient scope, expected any of: update:users")

    [url] = await verification_links(world)
    assert (await use_link(http, url)).status_code == 200
    verified = await http.post(f"{API}{post}", json={"user_id": user_id}, headers=bearer(token))
    management_error(verified, 400, "The user's email address is already verified.")


async def test_the_job_is_limited_per_user(http: httpx.AsyncClient, world: World) -> None:
    first = await sign_up(http, world, EMAIL)
    second = await sign_up(http, world, "bob@example.com")
    token = await machine_token(http, world.machine)
    statuses = [
        (
            await http.post(
                f"{API}/jobs/verification-email", json={"user_id": first}, headers=bearer(token)
            )
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [201] * 5 + [429]
    other = await http.post(
        f"{API}/jobs/verification-email", json={"user_id": second}, headers=bearer(token)
    )
    assert other.status_code == 201  # per user, not per caller


async def test_a_ticket_lands_on_result_url_with_auth0s_parameters(
    http: httpx.AsyncClient, world: World
) -> None:
    user_id = await sign_up(http, world, EMAIL)
    token = await machine_token(http, world.machine)
    created = await http.post(
        f"{API}/tickets/email-verification",
        json={
            "user_id": user_id,
            "result_url": "https://app.example.com/verified?from=tether",
            "ttl_sec": 600,
            "includeEmailInRedirect": True,
        },
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    assert set(created.json()) == {"ticket"}
    url = created.json()["ticket"]
    page = await open_link(http, url)
    # The POST redirects to result_url: the page's form-action allows exactly that origin.
    assert "form-action 'self' https://app.example.com;" in page.headers["content-security-policy"]
    done = await use_link(http, url)
    assert done.status_code == 303
    target = urlsplit(done.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "app.example.com", "/verified")
    query = parse_qs(target.query)
    assert query["from"] == ["tether"] and query["success"] == ["true"]
    assert query["code"] == ["success"] and query["email"] == [EMAIL]
    assert (await user(world, user_id)).email_verified is True

    spent = await use_link(http, url)
    assert spent.status_code == 303
    assert parse_qs(urlsplit(spent.headers["location"]).query)["success"] == ["false"]


async def test_a_tickets_ttl_is_its_lifetime(
    http: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    user_id = await sign_up(http, world, EMAIL)
    token = await machine_token(http, world.machine)
    created = await http.post(
        f"{API}/tickets/email-verification",
        json={"user_id": user_id, "ttl_sec": 60},
        headers=bearer(token),
    )
    clock.advance(timedelta(seconds=61))
    late = await use_link(http, created.json()["ticket"])
    assert late.status_code == 400 and "expired" in late.text
    assert (await user(world, user_id)).email_verified is False
    # The sign-up mail's link (5 days) still works.
    [url] = await verification_links(world)
    assert (await use_link(http, url)).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"result_url": "javascript:alert(1)"}, "'result_url' must be an absolute http(s) URL"),
        ({"result_url": "https://a.example/#x"}, "'result_url' must be an absolute http(s) URL"),
        ({"ttl_sec": 31 * 86400}, "'ttl_sec' may be at most 2592000"),
    ],
)
async def test_a_ticket_refuses_what_it_cannot_honour(
    http: httpx.AsyncClient, world: World, body: dict[str, object], message: str
) -> None:
    user_id = await sign_up(http, world, EMAIL)
    token = await machine_token(http, world.machine)
    response = await http.post(
        f"{API}/tickets/email-verification",
        json={"user_id": user_id, **body},
        headers=bearer(token),
    )
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


async def test_a_ticket_needs_create_user_tickets(http: httpx.AsyncClient, world: World) -> None:
    user_id = await sign_up(http, world, EMAIL)
    narrow = await scoped_token(http, world, "update:users")
    refused = await http.post(
        f"{API}/tickets/email-verification", json={"user_id": user_id}, headers=bearer(narrow)
    )
    management_error(refused, 403, "Insufficient scope, expected any of: create:user_tickets")
    allowed = await scoped_token(http, world, "create:user_tickets")
    ok = await http.post(
        f"{API}/tickets/email-verification", json={"user_id": user_id}, headers=bearer(allowed)
    )
    assert ok.status_code == 201, ok.text


async def test_auth0_python_sends_the_job_and_creates_the_ticket(
    http: httpx.AsyncClient, world: World
) -> None:
    """auth0-python 6 (the Fern client): ``jobs.verification_email.create`` and
    ``tickets.verify_email`` read Tether's answers as they read Auth0's."""
    user_id = await sign_up(http, world, EMAIL)
    token = await machine_token(http, world.machine)
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    sdk_http = httpx.AsyncClient(transport=transport, base_url=str(http.base_url))
    client = AsyncAuth0(
        base_url=f"{http.base_url}/api/v2", token=token, max_retries=0, httpx_client=sdk_http
    )
    async with sdk_http:
        job = await client.jobs.verification_email.create(user_id=user_id)
        assert job.type == "verification_email" and job.status == "completed"
        ticket = await client.tickets.verify_email(
            user_id=user_id, result_url="https://app.example.com/done", ttl_sec=3600
        )
        assert ticket.ticket.startswith(world.tenant.issuer + "lo/verify_email?ticket=")
        try:
            await client.jobs.verification_email.create(user_id="auth0|nobody")
        except ApiError as exc:
            assert exc.status_code == 404
        else:
            raise AssertionError("an unknown user is a 404")
    assert len(await mails(world, SUBJECT)) == 2
    done = await use_link(http, ticket.ticket)
    assert done.headers["location"].startswith("https://app.example.com/done?success=true")
    assert (await user(world, user_id)).email_verified is True
