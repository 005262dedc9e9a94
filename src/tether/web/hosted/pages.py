"""The hosted pages: sign in, sign up, forgot password, reset password, consent.

Every form carries a CSRF token and every POST answers 303. A failed sign-in says only
"Wrong email or password." whether or not the account exists.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    RateLimited,
)
from tether.domain.management_scopes import MANAGEMENT_SCOPES
from tether.domain.models import Application, Connection, LoginTransaction, Tenant, User
from tether.domain.users import NewDatabaseUser
from tether.protocol import authorize as authz
from tether.protocol.errors import AccessDenied
from tether.web import cookies
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant
from tether.web.html import csrf
from tether.web.html.errors import HtmlRoute, error_page
from tether.web.html.redirects import see_other
from tether.web.html.render import page
from tether.web.html.respond import deliver_error

router = APIRouter(route_class=HtmlRoute)

#: Button labels for connection strategies (the other kinds arrive with their issue).
STRATEGY_LABELS = {
    "google-oauth2": "Google",
    "github": "GitHub",
    "oidc": None,
    "oauth2": None,
    "email": "an email code",
}
_SCOPE_TEXT = {
    "openid": "Know who you are",
    "profile": "See your name and picture",
    "email": "See your email address",
    "offline_access": "Stay signed in (keep access when you are away)",
}


async def _connections(
    request: Request, current: Tenant, app: Application, only: str | None
) -> list[Connection]:
    found = await services(request).connections.enabled_for(current, app.client_id)
    return [c for c in found if only is None or c.name == only]


async def _context(
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


def _form_page(
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


async def _signed_in(
    request: Request, current: Tenant, tx: LoginTransaction, user: User, amr: list[str]
) -> Response:
    """Start a fresh session (never reuse the old id) and go on with the parked request."""
    c = services(request)
    started = await c.sessions.sign_in(current, user, amr, replaces=cookies.session_value(request))
    await c.authorization.record_login(current, tx, user, started.session)
    response = see_other(f"/authorize/resume?{urlencode({'state': tx.id})}")
    cookies.set_session(request, response, current, started.cookie_value)
    return response


async def _open_tx(request: Request) -> tuple[Tenant, LoginTransaction, Application] | Response:
    current = await tenant(request)
    state = request.query_params.get("state")
    try:
        tx, app = await services(request).authorization.transaction(current, state)
    except DomainError as exc:
        return error_page(request, exc.message, code=exc.code)
    return current, tx, app


async def _open_post(
    request: Request, purpose: str
) -> tuple[Tenant, LoginTransaction, Application, dict[str, Any]] | Response:
    """A form POST on a parked request: the request still open, the form read, its CSRF token
    checked (a bad token raises before anything else runs)."""
    opened = await _open_tx(request)
    if isinstance(opened, Response):
        return opened
    form = await read_params(request)
    csrf.check(request, purpose, form.get("csrf"))
    return (*opened, form)


# -- sign in -----------------------------------------------------------------------


@router.get("/u/login")
async def login_form(request: Request) -> Response:
    opened = await _open_tx(request)
    if isinstance(opened, Response):
        return opened
    current, tx, app = opened
    ctx = await _context(request, current, tx, app)
    return _form_page(request, "login.html", ctx, "login", title="Sign in")


@router.post("/u/login")
async def login_submit(request: Request) -> Response:
    opened = await _open_post(request, "login")
    if isinstance(opened, Response):
        return opened
    current, tx, app, form = opened
    ctx = await _context(request, current, tx, app)
    connection = str(form.get("connection") or "")
    other = next((o for o in ctx["others"] if o["name"] == connection), None)
    if other is not None and other["strategy"] == "email":
        return see_other(f"/u/passwordless?{urlencode({'state': tx.id, 'connection': connection})}")
    if not ctx["database"] or connection != ctx["database"].name:
        return _form_page(
            request,
            "login.html",
            ctx,
            "login",
            title="Sign in",
            status=400,
            error="That way of signing in is not available here yet.",
        )
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    try:
        user, _ = await services(request).users.authenticate(
            current, app, connection, email, password, request_info(request)
        )
    except (InvalidCredentials, InvalidInput):
        return _form_page(
            request,
            "login.html",
            ctx,
            "login",
            title="Sign in",
            status=400,
            error="Wrong email or password.",
            email=email,
        )
    except RateLimited as exc:
        return _form_page(
            request,
            "login.html",
            ctx,
            "login",
            title="Sign in",
            status=429,
            error=exc.message,
            email=email,
        )
    except Forbidden as exc:
        return _form_page(
            request,
            "login.html",
            ctx,
            "login",
            title="Sign in",
            status=403,
            error=exc.message,
            email=email,
        )
    return await _signed_in(request, current, tx, user, ["pwd"])


# -- sign up -----------------------------------------------------------------------


@router.get("/u/signup")
async def signup_form(request: Request) -> Response:
    opened = await _open_tx(request)
    if isinstance(opened, Response):
        return opened
    current, tx, app = opened
    ctx = await _context(request, current, tx, app)
    if not ctx["signup_url"]:
        return error_page(
            request, "Sign-up is not available for this application.", code="signup_disabled"
        )
    return _form_page(request, "signup.html", ctx, "signup", title="Sign up")


@router.post("/u/signup")
async def signup_submit(request: Request) -> Response:
    opened = await _open_post(request, "signup")
    if isinstance(opened, Response):
        return opened
    current, tx, app, form = opened
    ctx = await _context(request, current, tx, app)
    if not ctx["signup_url"]:
        return error_page(
            request, "Sign-up is not available for this application.", code="signup_disabled"
        )
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    try:
        user = await services(request).users.signup(
            current,
            app,
            ctx["database"].name,
            NewDatabaseUser(email=email, password=password),
            request_info(request),
        )
    except Conflict:
        # Say no more than a sign-in would: the address may or may not have an account.
        return _form_page(
            request,
            "signup.html",
            ctx,
            "signup",
            title="Sign up",
            status=400,
            email=email,
            error="We could not create an account with these details. If you already have one, sign in instead.",
        )
    except (InvalidInput, Forbidden, NotFound) as exc:
        message = exc.message.split(": ", 1)[-1]
        return _form_page(
            request,
            "signup.html",
            ctx,
            "signup",
            title="Sign up",
            status=400,
            error=message,
            email=email,
        )
    return await _signed_in(request, current, tx, user, ["pwd"])


# -- forgot / reset password ------------------------------------------------------------


async def _forgot_context(request: Request) -> tuple[Tenant, Application | None, dict[str, Any]]:
    current = await tenant(request)
    state = request.query_params.get("state")
    c = services(request)
    if state:
        try:
            tx, tx_app = await c.authorization.transaction(current, state)
        except DomainError:
            return current, None, {}
        ctx = await _context(request, current, tx, tx_app)
        return current, tx_app, ctx
    client_id = request.query_params.get("client_id")
    app: Application | None = None
    if client_id:
        try:
            app = await c.applications.get(current, client_id)
        except NotFound:
            app = None
    return current, app, {"app_name": app.name if app else current.name, "state": ""}


@router.get("/u/reset-password")
async def forgot_form(request: Request) -> Response:
    _, app, ctx = await _forgot_context(request)
    if app is None:
        return error_page(
            request, "Start from your application's sign-in page to reset your password."
        )
    return _form_page(request, "forgot.html", ctx, "forgot", title="Reset your password")


@router.post("/u/reset-password")
async def forgot_submit(request: Request) -> Response:
    current, app, ctx = await _forgot_context(request)
    if app is None:
        return error_page(
            request, "Start from your application's sign-in page to reset your password."
        )
    form = await read_params(request)
    csrf.check(request, "forgot", form.get("csrf"))
    database = ctx.get("database")
    try:
        await services(request).users.request_password_change(
            current,
            app,
            database.name if database else None,
            str(form.get("email") or ""),
            request_info(request),
        )
    except InvalidInput:
        return _form_page(
            request,
            "forgot.html",
            ctx,
            "forgot",
            title="Reset your password",
            status=400,
            error="Enter a valid email address.",
        )
    except (NotFound, Forbidden):
        pass  # answer the same as for a sent mail: no account enumeration
    return csrf.with_cookie(
        request, page(request, "forgot.html", title="Check your email", sent=True, **ctx)
    )


@router.get("/lo/reset")
async def reset_form(request: Request) -> Response:
    ticket = request.query_params.get("ticket") or ""
    if not ticket:
        return error_page(
            request, "This link is incomplete. Use the link from the email.", code="invalid_ticket"
        )
    ctx = {"ticket": ticket, "redirect_origin": None}
    return _form_page(request, "reset.html", ctx, "reset", title="Choose a new password")


@router.post("/lo/reset")
async def reset_submit(request: Request) -> Response:
    current = await tenant(request)
    form = await read_params(request)
    csrf.check(request, "reset", form.get("csrf"))
    ticket = str(form.get("ticket") or "")
    password = str(form.get("password") or "")
    ctx = {"ticket": ticket, "redirect_origin": None}
    if password != str(form.get("confirm") or ""):
        return _form_page(
            request,
            "reset.html",
            ctx,
            "reset",
            title="Choose a new password",
            status=400,
            error="The two passwords are not the same.",
        )
    try:
        await services(request).users.reset_password(
            current, ticket, password, request_info(request)
        )
    except InvalidInput as exc:
        return _form_page(
            request,
            "reset.html",
            ctx,
            "reset",
            title="Choose a new password",
            status=400,
            error=exc.message.split(": ", 1)[-1],
        )
    return csrf.with_cookie(
        request, page(request, "reset.html", title="Password changed", done=True)
    )


# -- consent -------------------------------------------------------------------------


def _scope_list(req: authz.AuthorizationRequest) -> list[dict[str, str]]:
    known = {s["value"]: s["description"] for s in MANAGEMENT_SCOPES}
    return [{"value": s, "description": _SCOPE_TEXT.get(s) or known.get(s) or s} for s in req.scope]


@router.get("/u/consent")
async def consent_form(request: Request) -> Response:
    opened = await _open_tx(request)
    if isinstance(opened, Response):
        return opened
    current, tx, app = opened
    if tx.user_pk is None:
        return see_other(f"/u/login?{urlencode({'state': tx.id})}")
    req = authz.AuthorizationRequest.from_dict(tx.request)
    ctx = await _context(request, current, tx, app)
    return _form_page(
        request, "consent.html", ctx, "consent", title="Allow access?", scopes=_scope_list(req)
    )


@router.post("/u/consent")
async def consent_submit(request: Request) -> Response:
    opened = await _open_post(request, "consent")
    if isinstance(opened, Response):
        return opened
    current, tx, app, form = opened
    req = authz.AuthorizationRequest.from_dict(tx.request)
    c = services(request)
    session = await c.sessions.current(current, cookies.session_value(request))
    if tx.user_pk is None or session is None or session.id != tx.session_id:
        return see_other(f"/u/login?{urlencode({'state': tx.id})}")
    if form.get("decision") != "accept":
        await c.authorization.finish(current, tx)
        return deliver_error(
            request,
            current,
            app,
            req.redirect_uri,
            req.answer_mode,
            req.state,
            AccessDenied("The user denied access."),
        )
    await c.authorization.grant_consent(current, app, tx.user_pk, list(req.scope))
    return see_other(f"/authorize/resume?{urlencode({'state': tx.id})}")


# -- passwordless email ---------------------------------------------------------------


async def _passwordless_ctx(
    request: Request,
) -> tuple[Tenant, LoginTransaction, Application, Connection, dict[str, Any]] | Response:
    opened = await _open_tx(request)
    if isinstance(opened, Response):
        return opened
    current, tx, app = opened
    name = request.query_params.get("connection") or "email"
    try:
        connection = await services(request).passwordless.connection(current, name, app)
    except DomainError as exc:
        return error_page(request, exc.message, code=exc.code)
    ctx = await _context(request, current, tx, app)
    ctx["action"] = (
        f"{request.url.path}?{urlencode({'state': tx.id, 'connection': connection.name})}"
    )
    return current, tx, app, connection, ctx


@router.get("/u/passwordless")
async def passwordless_form(request: Request) -> Response:
    opened = await _passwordless_ctx(request)
    if isinstance(opened, Response):
        return opened
    *_, ctx = opened
    return _form_page(
        request,
        "passwordless.html",
        {**ctx, "action": ctx["action"]},
        "passwordless",
        title="Sign in with an email code",
        step="email",
    )


@router.post("/u/passwordless")
async def passwordless_submit(request: Request) -> Response:
    """Step 1 sends a code; step 2 checks it and signs the person in."""
    opened = await _passwordless_ctx(request)
    if isinstance(opened, Response):
        return opened
    current, tx, app, connection, ctx = opened
    form = await read_params(request)
    csrf.check(request, "passwordless", form.get("csrf"))
    service = services(request).passwordless
    email = str(form.get("email") or "")
    title = "Sign in with an email code"
    if form.get("step") != "code":
        try:
            email = await service.start(current, app, connection, email, request_info(request))
        except InvalidInput:
            return _form_page(
                request,
                "passwordless.html",
                ctx,
                "passwordless",
                title=title,
                status=400,
                step="email",
                error="Enter a valid email address.",
                email=email,
            )
        except RateLimited as exc:
            return _form_page(
                request,
                "passwordless.html",
                ctx,
                "passwordless",
                title=title,
                status=429,
                step="email",
                error=exc.message,
                email=email,
            )
        return _form_page(
            request,
            "passwordless.html",
            ctx,
            "passwordless",
            title=title,
            step="code",
            email=email,
            notice=f"We sent a 6-digit code to {email}. It works for 5 minutes.",
        )
    try:
        user = await service.verify(
            current, app, connection, email, str(form.get("code") or ""), request_info(request)
        )
    except (InvalidCredentials, InvalidInput):
        return _form_page(
            request,
            "passwordless.html",
            ctx,
            "passwordless",
            title=title,
            status=400,
            step="code",
            email=email,
            error="That code is wrong or has expired.",
        )
    except RateLimited as exc:  # brute-force protection: this address is blocked from here
        return _form_page(
            request,
            "passwordless.html",
            ctx,
            "passwordless",
            title=title,
            status=429,
            step="code",
            email=email,
            error=exc.message,
        )
    except Forbidden as exc:
        return _form_page(
            request,
            "passwordless.html",
            ctx,
            "passwordless",
            title=title,
            status=403,
            step="code",
            email=email,
            error=exc.message,
        )
    return await _signed_in(request, current, tx, user, ["otp"])
