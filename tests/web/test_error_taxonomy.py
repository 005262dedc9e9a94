"""One error taxonomy (DESIGN.md, Errors; issue 12 item 2): each kind of domain error has one
status, and every surface answers it, in its own shape, with that status, except where the wire
demands otherwise (the departures listed on ``tether.web.errors.STATUS``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

# bootstrap imports every domain module, so every error class exists to be walked.
import tether.bootstrap
import tether.web.hosted
from tether.domain.errors import Conflict, DomainError, ErrorKind, RateLimited
from tether.protocol.errors import OAuth2Error
from tether.web import errors
from tether.web.auth_api.errors import OAuthRoute, SignupRoute, render_oauth
from tether.web.html.errors import HtmlRoute
from tether.web.management.errors import management_response

#: The only departures from STATUS, each demanded by a wire (see STATUS's comment).
OAUTH_DEPARTS = {
    ErrorKind.NOT_FOUND: 400,
    ErrorKind.CONFLICT: 400,
    ErrorKind.UNAUTHENTICATED: 403,
    ErrorKind.UPSTREAM: 500,
}
SIGNUP_DEPARTS = {ErrorKind.NOT_FOUND: 400, ErrorKind.CONFLICT: 400}

#: Internal errors are 500 everywhere, rendered without their message.
CLIENT_KINDS = [k for k in ErrorKind if k is not ErrorKind.INTERNAL]


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_of(kind: ErrorKind) -> DomainError:
    if kind is ErrorKind.RATE_LIMITED:
        return RateLimited("Slow down.", limit=10, reset_at=1)
    cls = type(f"Test{kind.name.title()}", (DomainError,), {"kind": kind, "code": "test_code"})
    return cls(f"a {kind.value} error")


def test_every_kind_has_one_status() -> None:
    assert set(errors.STATUS) == set(ErrorKind)
    assert all(400 <= s < 600 for s in errors.STATUS.values())


def test_every_domain_error_declares_a_kind_with_a_status() -> None:
    found = list(_subclasses(DomainError))
    assert len(found) >= 12  # the domain's errors are all imported
    for cls in found:
        assert isinstance(cls.kind, ErrorKind), cls
        assert cls.kind in errors.STATUS, cls
    assert Conflict.kind is ErrorKind.CONFLICT


@pytest.fixture
def app() -> FastAPI:
    """Three routers, each naming its surface's renderer, behind the one dispatching handler."""
    app = FastAPI()
    oauth, signup, html = (APIRouter(route_class=c) for c in (OAuthRoute, SignupRoute, HtmlRoute))

    async def boom(kind: str) -> Response:
        raise error_of(ErrorKind(kind))

    for router, prefix in ((oauth, "/oauth"), (signup, "/signup"), (html, "/page")):
        router.add_api_route(prefix + "/{kind}", boom)
        app.include_router(router)

    async def handle(request: Request, exc: Exception) -> Response:
        return errors.dispatch(request, exc, default=render_oauth)

    app.add_exception_handler(DomainError, handle)
    app.add_exception_handler(OAuth2Error, handle)
    static = Path(tether.web.hosted.__file__).parent / "static"
    app.mount("/u/static", StaticFiles(directory=static), name="hosted_static")
    return app


@pytest.mark.parametrize("kind", CLIENT_KINDS, ids=lambda k: k.value)
async def test_each_surface_answers_the_tables_status_in_its_own_shape(
    app: FastAPI, kind: ErrorKind
) -> None:
    status = errors.STATUS[kind]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        oauth = await client.get(f"/oauth/{kind.value}")
        signup = await client.get(f"/signup/{kind.value}")
        page = await client.get(f"/page/{kind.value}")

    assert oauth.status_code == OAUTH_DEPARTS.get(kind, status)
    assert set(oauth.json()) == {"error", "error_description"}
    assert oauth.headers["cache-control"] == "no-store"

    assert signup.status_code == SIGNUP_DEPARTS.get(kind, status)
    body = signup.json()
    assert body["statusCode"] == signup.status_code
    assert body["code"] == ("too_many_attempts" if kind is ErrorKind.RATE_LIMITED else "test_code")
    assert body["name"].endswith("Error")

    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert f"a {kind.value} error" in page.text or kind is ErrorKind.RATE_LIMITED

    management = management_response(error_of(kind))
    assert management.status_code == status


async def test_an_internal_error_is_a_500_that_shows_no_message(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answers = [await client.get(f"/{p}/internal") for p in ("oauth", "signup", "page")]
    assert [r.status_code for r in answers] == [500, 500, 500]
    assert all("a internal error" not in r.text for r in answers)
    assert management_response(error_of(ErrorKind.INTERNAL)).status_code == 500


def test_a_conflict_is_409_on_the_management_api_and_400_on_signup() -> None:
    """auth0-wire.md §1 (POST /users: 409 User already exists) and §3.1 (signup: 400
    user_exists): the two statuses the wire itself gives one error."""
    conflict = Conflict("The user already exists.", code="user_exists")
    assert management_response(conflict).status_code == 409
    assert errors.STATUS[conflict.kind] == 409
    assert SIGNUP_DEPARTS[conflict.kind] == 400
