"""What the hosted sign-in pages share (sign_in.py, sign_up.py, reset.py, consent.py,
passwordless.py, magic_link.py, upstream.py, link_account.py): the parked ``/authorize`` request
they serve, as a guard; the page's context (the app, its connections, the links between the
pages); a form page; and signing the person in.

Every form carries a CSRF token and every POST that signs in answers 303. The guards are FastAPI
dependencies: :data:`Open` is the parked request named by ``?state=``, and :func:`posted` that
request with its form read and CSRF-checked; a request that is gone (finished, expired, never
parked) is a :class:`~tether.web.html.errors.Detour` to the error page, so a handler only runs
on a request that is still open.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple
from urllib.parse import urlencode

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError
from tether.domain.models import Application, Connection, LoginTransaction, Tenant, User
from tether.protocol import authorize as authz
from tether.web import cookies
from tether.web.body import read_params
from tether.web.context import services, tenant
from tether.web.html import csrf
from tether.web.html.errors import Detour, error_page
from tether.web.html.redirects import see_other
from tether.web.html.render import page

#: Button labels for connection strategies (the other kinds arrive with their issue).
STRATEGY_LABELS = {
    "google-oauth2": "Google",
    "github": "GitHub",
    "oidc": None,
    "oauth2": None,
    "email": "an email code",
}


async def _connections(
    request: Request, current: Tenant, app: Application, only: str | None
) -> list[Connection]:
    found = await services(request).connections.enabled_for(current, app.client_id)
    return [c for c in found if only is None or c.name == only]


async def sign_in_context(
    request: Request, current: Tenant, tx: LoginTransaction, app: Application
) -> dict[str, Any]:
    req = authz.AuthorizationRequest.from_dict(tx.request)
    connections = await _connections(request, current, app, req.connection)
    database = next((c for c in connections if c.is_database), None)
    others = [
        {
            "name": c.name,
            "strategy": c.strategy,
            "label": STRATEGY_LABELS.get(c.strategy)
            or str(c.options.get("display_name") or c.name),
            # Upstream providers are plain links: a form's POST could not redirect off-site
            # under this page's form-action policy.
            "href": None
            if c.strategy == "email"
            else f"/u/login/upstream?{urlencode({'state': tx.id, 'connection': c.name})}",
        }
        for c in connections
        if not c.is_database
    ]
    q = urlencode({"state": tx.id})
    return {
        "state": tx.id,
        "app_name": app.name,
        "tenant_name": current.name,
        "database": database,
        "others": others,
        "login_url": f"/u/login?{q}",
        "signup_url": f"/u/signup?{q}"
        if database and not database.options.get("disable_signup")
        else None,
        "forgot_url": f"/u/reset-password?{q}",
        "email": req.login_hint,
        "redirect_origin": authz.origin_of(req.redirect_uri),
    }


def form_page(
    request: Request, template: str, ctx: dict[str, Any], purpose: str, **extra: Any
) -> Response:
    # The form's POST ends in a redirect to the app's callback, and browsers apply form-action
    # to the redirects after a submission, so the callback's origin is allowed there too.
    values = {
        # Post back to this very URL: the parked request is named by ``?state=`` in the query.
        "action": f"{request.url.path}?{request.url.query}"
        if request.url.query
        else request.url.path,
        **ctx,
        **extra,
    }
    response = page(
        request,
        template,
        csrf=csrf.token(request, purpose),
        form_targets=[ctx["redirect_origin"]] if ctx.get("redirect_origin") else [],
        **values,
    )
    return csrf.with_cookie(request, response)


async def signed_in(
    request: Request, current: Tenant, tx: LoginTransaction, user: User, amr: list[str]
) -> Response:
    """Start a fresh session (never reuse the old id) and go on with the parked request."""
    c = services(request)
    started = await c.sessions.sign_in(current, user, amr, replaces=cookies.session_value(request))
    await c.authorization.record_login(current, tx, user, started.session)
    response = see_other(f"/authorize/resume?{urlencode({'state': tx.id})}")
    cookies.set_session(request, response, current, started.cookie_value)
    return response


class Parked(NamedTuple):
    """A parked ``/authorize`` request, open, with its tenant and application."""

    tenant: Tenant
    tx: LoginTransaction
    app: Application


async def parked(request: Request) -> Parked:
    """The request ``?state=`` names; gone, it is the error page instead."""
    current = await tenant(request)
    state = request.query_params.get("state")
    try:
        tx, app = await services(request).authorization.transaction(current, state)
    except DomainError as exc:
        raise Detour(error_page(request, exc.message, code=exc.code)) from exc
    return Parked(current, tx, app)


#: A page's parked request.
Open = Annotated[Parked, Depends(parked)]


class Posted(NamedTuple):
    """A form POST on a parked request."""

    tenant: Tenant
    tx: LoginTransaction
    app: Application
    form: dict[str, Any]


def posted(purpose: str) -> Any:
    """A form POST on a parked request: the request still open, then the form read and its CSRF
    token for ``purpose`` checked (a bad token raises before anything else runs)."""

    async def dependency(request: Request, opened: Open) -> Posted:
        form = await read_params(request)
        csrf.check_form(request, purpose, form)
        return Posted(*opened, form)

    return Depends(dependency)
