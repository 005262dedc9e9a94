"""``/dashboard``: the tenant's admin pages, for the users ``tether admins add`` named.

Signed in through Tether itself (the "Tether Dashboard" first-party application; web/html/
gate.py). Every change goes through the same domain service as the Management API, with the
admin as the actor, so it writes the same log events. Every form has a CSRF token, every POST
that succeeds answers 303, and one that fails shows the page again with what went wrong.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain import user_search
from tether.domain.account import DASHBOARD, SIGN_IN
from tether.domain.actor import Actor
from tether.domain.applications import ApiChanges, ApplicationChanges, NewApi, NewApplication
from tether.domain.audit import LogType
from tether.domain.brute_force import BruteForceGuard
from tether.domain.connections import ConnectionChanges
from tether.domain.errors import DomainError, InvalidInput, NotFound
from tether.domain.linking import LinkIdentity
from tether.domain.log_filter import LogFilter
from tether.domain.models import AppType, User
from tether.domain.user_admin import UserChanges
from tether.domain.views import user_view
from tether.protocol import json_text
from tether.web.body import read_params
from tether.web.context import request_info, services
from tether.web.errors import status_of
from tether.web.html import csrf, gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import here, see_other, with_msg
from tether.web.html.render import MESSAGES, page, render
from tether.web.views import log_view

router = APIRouter(route_class=HtmlRoute)
HOME = "/dashboard"
PER_PAGE = 20
MAX_PAGE = 1000 // PER_PAGE - 1
LOG_LABELS = {
    "s": "Success login",
    "ss": "Success signup",
    "f": "Failed login",
    "fp": "Failed login (wrong password)",
    "fu": "Failed login (invalid email/username)",
    "fs": "Failed signup",
    "slo": "Success logout",
    "scp": "Success change password",
    "fcp": "Failed change password",
    "scpr": "Success change password request",
    "fcpr": "Failed change password request",
    "sapi": "Success API operation",
    "fapi": "Failed API operation",
    "seacft": "Success exchange (code)",
    "feacft": "Failed exchange (code)",
    "seccft": "Success exchange (client credentials)",
    "feccft": "Failed exchange (client credentials)",
    "sepft": "Success exchange (password)",
    "fepft": "Failed exchange (password)",
    "sertft": "Success exchange (refresh token)",
    "fertft": "Failed exchange (refresh token)",
    "ferrt": "Refresh token reused",
    "srrt": "Refresh token revoked",
    "cls": "Passwordless code sent",
    "ssa": "Success silent auth",
    "fsa": "Failed silent auth",
    "limit_wc": "Blocked account",
    "limit_mu": "Blocked IP",
    "du": "Deleted user",
}
SECTIONS = [
    ("users", "Users"),
    ("logs", "Logs"),
    ("applications", "Applications"),
    ("apis", "APIs"),
    ("connections", "Connections"),
    ("keys", "Keys"),
    ("jobs", "Jobs"),
    ("admins", "Admins"),
]


# -- who may come in -------------------------------------------------------------------------


async def _admin(request: Request, *, back: str | None = None) -> gate.Visitor | Response:
    """The signed-in admin; else the way to sign in, or a 403 page for a non-admin."""
    who = await gate.visitor(request)
    if who is None:
        target = back or (here(request) if request.method == "GET" else HOME)
        return await gate.sign_in(request, DASHBOARD, SIGN_IN, return_to=target)
    if not await services(request).admins.is_admin(who.tenant, who.user.pk):
        return render(
            request,
            "dashboard/forbidden.html",
            status=403,
            title="No access",
            tenant_name=who.tenant.name,
            user=who.user,
        )
    return who


async def _actor(request: Request, who: gate.Visitor) -> Actor:
    app = await services(request).hosted_apps.ensure(who.tenant, DASHBOARD)
    return Actor(client_id=app.client_id, user_id=who.user.user_id, request=request_info(request))


def _render(
    request: Request, who: gate.Visitor, template: str, section: str, **context: Any
) -> Response:
    return render(
        request,
        template,
        tenant_name=who.tenant.name,
        admin=who.user,
        sections=SECTIONS,
        section=section,
        **context,
    )


async def _form(request: Request) -> dict[str, str]:
    """The POST body, CSRF-checked before anything else runs."""
    form = await read_params(request, allow_empty=True)
    csrf.check_form(request, DASHBOARD, form)
    return {k: str(v) for k, v in form.items()}


def _lines(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.replace(",", "\n").split() if v)


# -- sign-in ---------------------------------------------------------------------------------


@router.get("/dashboard")
async def home(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    return see_other("/dashboard/users")


@router.get("/dashboard/callback")
async def callback(request: Request) -> Response:
    finished = await gate.finish(request, DASHBOARD)
    if isinstance(finished, Response):
        return gate.forget_flow(finished, request, DASHBOARD)
    return gate.forget_flow(see_other(finished.flow.return_to), request, DASHBOARD)


@router.post("/dashboard/logout")
async def logout(request: Request) -> Response:
    await _form(request)
    return await gate.sign_out(request, DASHBOARD)


@router.get("/dashboard/signed-out")
async def signed_out(request: Request) -> Response:
    return page(
        request,
        "account/signed_out.html",
        title="Signed out",
        home=HOME,
        notice=MESSAGES["signed_out"],
    )


# -- users -----------------------------------------------------------------------------------


def _page_number(value: str | None, most: int = MAX_PAGE) -> int:
    try:
        return max(0, min(int(value or 0), most))
    except ValueError:
        return 0


def _user_row(user: User) -> dict[str, Any]:
    return {
        "user": user,
        "connections": sorted({i.connection_name for i in user.identities}),
        "providers": sorted({i.provider for i in user.identities}),
    }


@router.get("/dashboard/users")
async def users(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    q = (request.query_params.get("q") or "").strip()[:1024]
    number = _page_number(request.query_params.get("page"))
    error = None
    found: list[User] = []
    total = 0
    try:
        query = user_search.compile_query(q) if q else None
        found, total = await services(request).user_admin.search(
            who.tenant.id, query, page=number, per_page=PER_PAGE, sort=None
        )
    except InvalidInput as exc:
        error = exc.message
    pages = min((total + PER_PAGE - 1) // PER_PAGE, MAX_PAGE + 1)
    return _render(
        request,
        who,
        "dashboard/users.html",
        "users",
        status=400 if error else 200,
        title="Users",
        q=q,
        rows=[_user_row(u) for u in found],
        total=total,
        number=number,
        pages=pages,
        prev_url=f"/dashboard/users?{urlencode({'q': q, 'page': number - 1})}"
        if number > 0
        else None,
        next_url=f"/dashboard/users?{urlencode({'q': q, 'page': number + 1})}"
        if number + 1 < pages
        else None,
        error=error,
    )


def user_url(user_id: str, msg: str | None = None) -> str:
    params = {"id": user_id}
    if msg:
        params["msg"] = msg
    return f"/dashboard/user?{urlencode(params)}"


async def _user_page(
    request: Request,
    who: gate.Visitor,
    user_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    metadata: dict[str, str] | None = None,
    link_value: str = "",
) -> Response:
    c = services(request)
    try:
        user = await c.user_admin.get(who.tenant.id, user_id)
    except NotFound:
        return _render(
            request,
            who,
            "dashboard/missing.html",
            "users",
            status=404,
            title="No such user",
            user_id=user_id,
        )
    rows = await c.account.identities(who.tenant, user)
    login_blocks = await c.guard.blocks(who.tenant, BruteForceGuard.identifiers_of(user))
    events, events_total = await c.logs.page(
        who.tenant.id, LogFilter(user_id=user.user_id), offset=0, limit=20
    )
    metadata = metadata or {}
    apps = await c.applications.list(who.tenant)
    return _render(
        request,
        who,
        "dashboard/user.html",
        "users",
        status=status,
        title=user.email or user.user_id,
        user=user,
        rows=rows,
        raw=json.dumps(user_view(user), indent=2, ensure_ascii=False),
        user_metadata=metadata.get("user_metadata")
        or json.dumps(json_text.finite_or_null(user.user_metadata), indent=2, ensure_ascii=False),
        app_metadata=metadata.get("app_metadata")
        or json.dumps(json_text.finite_or_null(user.app_metadata), indent=2, ensure_ascii=False),
        metadata_error=metadata.get("error"),
        events=events,
        events_total=events_total,
        app_names={a.client_id: a.name for a in apps},
        labels=LOG_LABELS,
        link_value=link_value,
        error=error,
        is_self=user.pk == who.user.pk,
        login_blocks=login_blocks,
    )


@router.get("/dashboard/user")
async def user_page(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    return await _user_page(request, who, request.query_params.get("id") or "")


@router.post("/dashboard/user/unlink")
async def user_unlink(request: Request) -> Response:
    form = await _form(request)
    user_id = form.get("id", "")
    who = await _admin(request, back=user_url(user_id))
    if isinstance(who, Response):
        return who
    try:
        await services(request).linking.unlink(
            who.tenant,
            user_id,
            form.get("provider", ""),
            form.get("identity", ""),
            await _actor(request, who),
        )
    except DomainError as exc:
        return await _user_page(request, who, user_id, status=status_of(exc), error=exc.message)
    return see_other(user_url(user_id, "user_unlinked"))


@router.post("/dashboard/user/link")
async def user_link(request: Request) -> Response:
    form = await _form(request)
    user_id = form.get("id", "")
    who = await _admin(request, back=user_url(user_id))
    if isinstance(who, Response):
        return who
    other = form.get("secondary", "").strip()
    provider, sep, subject = other.partition("|")
    if not sep or not provider or not subject:
        return await _user_page(
            request,
            who,
            user_id,
            status=400,
            error="Enter the other user's user_id, like auth0|64f0c2… or google-oauth2|1034…",
            link_value=other,
        )
    try:
        await services(request).linking.link(
            who.tenant,
            user_id,
            LinkIdentity(provider=provider, user_id=subject),
            await _actor(request, who),
        )
    except DomainError as exc:
        return await _user_page(
            request, who, user_id, status=status_of(exc), error=exc.message, link_value=other
        )
    return see_other(user_url(user_id, "user_linked"))


def _replace(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The merge patch (Auth0's PATCH semantics) that turns ``current`` into ``wanted``."""
    patch: dict[str, Any] = {k: None for k in current if k not in wanted}
    patch.update(wanted)
    return patch


@router.post("/dashboard/user/metadata")
async def user_metadata(request: Request) -> Response:
    form = await _form(request)
    user_id = form.get("id", "")
    who = await _admin(request, back=user_url(user_id))
    if isinstance(who, Response):
        return who
    c = services(request)
    texts = {name: form.get(name, "") for name in ("user_metadata", "app_metadata")}
    try:
        user = await c.user_admin.get(who.tenant.id, user_id)
        values: dict[str, Any] = {}
        for name, text in texts.items():
            try:
                parsed = json_text.loads(text or "{}")
            except json_text.NonFiniteNumber as exc:
                raise InvalidInput(f"{name}: {json_text.MESSAGE}") from exc
            except (ValueError, RecursionError) as exc:
                raise InvalidInput(
                    f"{name} is not valid JSON: {exc.args[0] if exc.args else exc}"
                ) from exc
            if not isinstance(parsed, dict):
                raise InvalidInput(f'{name} must be a JSON object, like {{"plan": "pro"}}.')
            values[name] = _replace(getattr(user, name), parsed)
        await c.user_admin.update(
            who.tenant.id, user_id, UserChanges(values), await _actor(request, who)
        )
    except DomainError as exc:
        return await _user_page(
            request,
            who,
            user_id,
            status=status_of(exc),
            error=exc.message,
            metadata={**texts, "error": exc.message},
        )
    return see_other(user_url(user_id, "updated"))


@router.post("/dashboard/user/block")
async def user_block(request: Request) -> Response:
    form = await _form(request)
    user_id = form.get("id", "")
    who = await _admin(request, back=user_url(user_id))
    if isinstance(who, Response):
        return who
    blocked = form.get("blocked") == "true"
    try:
        await services(request).user_admin.update(
            who.tenant.id,
            user_id,
            UserChanges({"blocked": blocked}),
            await _actor(request, who),
        )
    except DomainError as exc:
        return await _user_page(request, who, user_id, status=status_of(exc), error=exc.message)
    return see_other(user_url(user_id, "blocked" if blocked else "unblocked"))


@router.post("/dashboard/user/unblock-logins")
async def user_unblock_logins(request: Request) -> Response:
    """Lift the blocks brute-force protection set (as DELETE /api/v2/user-blocks/{id})."""
    form = await _form(request)
    user_id = form.get("id", "")
    who = await _admin(request, back=user_url(user_id))
    if isinstance(who, Response):
        return who
    c = services(request)
    try:
        user = await c.user_admin.get(who.tenant.id, user_id)
    except DomainError as exc:
        return await _user_page(request, who, user_id, status=status_of(exc), error=exc.message)
    await c.guard.unblock(
        who.tenant,
        BruteForceGuard.identifiers_of(user),
        user=user,
        actor=who.user.user_id,
        request=request_info(request),
    )
    return see_other(user_url(user_id, "logins_unblocked"))


@router.get("/dashboard/user/delete")
async def user_delete_confirm(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    user_id = request.query_params.get("id") or ""
    try:
        user = await services(request).user_admin.get(who.tenant.id, user_id)
    except NotFound:
        return await _user_page(request, who, user_id)
    return _render(request, who, "dashboard/delete.html", "users", title="Delete user?", user=user)


@router.post("/dashboard/user/delete")
async def user_delete(request: Request) -> Response:
    form = await _form(request)
    user_id = form.get("id", "")
    who = await _admin(request, back=user_url(user_id))
    if isinstance(who, Response):
        return who
    try:
        await services(request).user_admin.delete(
            who.tenant.id, user_id, await _actor(request, who)
        )
    except DomainError as exc:
        return await _user_page(request, who, user_id, status=status_of(exc), error=exc.message)
    return see_other(with_msg("/dashboard/users", "deleted"))


# -- logs ------------------------------------------------------------------------------------


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None
    return day + timedelta(days=1) - timedelta(microseconds=1) if end else day


@router.get("/dashboard/logs")
async def logs(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    c = services(request)
    q = request.query_params
    filters = {
        "type": (q.get("type") or "").strip()[:32],
        "user": (q.get("user") or "").strip()[:512],
        "client": (q.get("client") or "").strip()[:64],
        "from": (q.get("from") or "").strip()[:10],
        "to": (q.get("to") or "").strip()[:10],
    }
    number = _page_number(q.get("page"), 1000)
    flt = LogFilter(
        types=(filters["type"],) if filters["type"] else (),
        user_id=filters["user"] or None,
        client_id=filters["client"] or None,
        date_from=_day(filters["from"]),
        date_to=_day(filters["to"], end=True),
    )
    events, total = await c.logs.page(who.tenant.id, flt, offset=number * PER_PAGE, limit=PER_PAGE)
    apps = await c.applications.list(who.tenant)
    base = {k: v for k, v in filters.items() if v}
    pages = (total + PER_PAGE - 1) // PER_PAGE
    return _render(
        request,
        who,
        "dashboard/logs.html",
        "logs",
        title="Logs",
        events=events,
        total=total,
        filters=filters,
        types=sorted({t.value for t in LogType}),
        labels=LOG_LABELS,
        apps=apps,
        app_names={a.client_id: a.name for a in apps},
        number=number,
        prev_url=f"/dashboard/logs?{urlencode({**base, 'page': number - 1})}"
        if number > 0
        else None,
        next_url=f"/dashboard/logs?{urlencode({**base, 'page': number + 1})}"
        if number + 1 < pages
        else None,
    )


@router.get("/dashboard/logs/{log_id}")
async def log_detail(request: Request, log_id: str) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    try:
        event = await services(request).logs.get(who.tenant.id, log_id)
    except NotFound:
        return _render(
            request,
            who,
            "dashboard/missing.html",
            "logs",
            status=404,
            title="No such log event",
            what="log event",
        )
    return _render(
        request,
        who,
        "dashboard/log.html",
        "logs",
        title=f"Log event {event.log_id[:12]}…",
        event=event,
        label=LOG_LABELS.get(event.type, event.type),
        raw=json.dumps(log_view(event), indent=2, ensure_ascii=False),
    )


# -- applications ----------------------------------------------------------------------------


async def _apps_page(
    request: Request,
    who: gate.Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    apps = await services(request).applications.list(who.tenant)
    return _render(
        request,
        who,
        "dashboard/applications.html",
        "applications",
        status=status,
        title="Applications",
        apps=apps,
        types=[t.value for t in AppType],
        form=form or {},
        error=error,
    )


@router.get("/dashboard/applications")
async def applications(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    return await _apps_page(request, who)


@router.post("/dashboard/applications")
async def application_create(request: Request) -> Response:
    form = await _form(request)
    who = await _admin(request, back="/dashboard/applications")
    if isinstance(who, Response):
        return who
    try:
        app_type = AppType(form.get("app_type", "regular_web"))
        created = await services(request).applications.register(
            who.tenant,
            NewApplication(
                name=form.get("name", ""),
                app_type=app_type,
                callbacks=_lines(form.get("callbacks", "")),
                allowed_logout_urls=_lines(form.get("logout_urls", "")),
                web_origins=_lines(form.get("web_origins", "")),
            ),
            await _actor(request, who),
        )
    except ValueError:
        return await _apps_page(
            request, who, status=400, error="Choose an application type.", form=form
        )
    except DomainError as exc:
        return await _apps_page(request, who, status=status_of(exc), error=exc.message, form=form)
    return see_other(
        with_msg(f"/dashboard/applications/{created.application.client_id}", "created")
    )


async def _app_page(
    request: Request,
    who: gate.Visitor,
    client_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    new_secret: str | None = None,
) -> Response:
    try:
        app = await services(request).applications.get(who.tenant, client_id)
    except NotFound:
        return _render(
            request,
            who,
            "dashboard/missing.html",
            "applications",
            status=404,
            title="No such application",
            what="application",
        )
    return _render(
        request,
        who,
        "dashboard/application.html",
        "applications",
        status=status,
        title=app.name,
        app=app,
        error=error,
        new_secret=new_secret,
    )


@router.get("/dashboard/applications/{client_id}")
async def application(request: Request, client_id: str) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    return await _app_page(request, who, client_id)


@router.post("/dashboard/applications/{client_id}")
async def application_update(request: Request, client_id: str) -> Response:
    form = await _form(request)
    who = await _admin(request, back=f"/dashboard/applications/{client_id}")
    if isinstance(who, Response):
        return who
    try:
        await services(request).applications.update(
            who.tenant,
            client_id,
            ApplicationChanges(
                name=form.get("name", ""),
                description=form.get("description", ""),
                callbacks=_lines(form.get("callbacks", "")),
                allowed_logout_urls=_lines(form.get("logout_urls", "")),
                web_origins=_lines(form.get("web_origins", "")),
                allowed_origins=_lines(form.get("allowed_origins", "")),
                # An unchecked box is not sent at all.
                cross_origin_authentication="cross_origin_authentication" in form,
            ),
            await _actor(request, who),
        )
    except DomainError as exc:
        return await _app_page(request, who, client_id, status=status_of(exc), error=exc.message)
    return see_other(with_msg(f"/dashboard/applications/{client_id}", "updated"))


@router.post("/dashboard/applications/{client_id}/rotate-secret")
async def application_rotate_secret(request: Request, client_id: str) -> Response:
    """A new secret, shown once on the answer itself (no redirect: it must not sit in a URL)."""
    await _form(request)
    who = await _admin(request, back=f"/dashboard/applications/{client_id}")
    if isinstance(who, Response):
        return who
    try:
        rotated = await services(request).applications.rotate_secret(
            who.tenant, client_id, await _actor(request, who)
        )
    except DomainError as exc:
        return await _app_page(request, who, client_id, status=status_of(exc), error=exc.message)
    return await _app_page(request, who, client_id, new_secret=rotated.client_secret)


# -- APIs ------------------------------------------------------------------------------------


async def _apis_page(
    request: Request,
    who: gate.Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return _render(
        request,
        who,
        "dashboard/apis.html",
        "apis",
        status=status,
        title="APIs",
        apis=await services(request).apis.list(who.tenant),
        form=form or {},
        error=error,
    )


@router.get("/dashboard/apis")
async def apis(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    return await _apis_page(request, who)


def _lifetime(value: str) -> int:
    try:
        return int(value or 86400)
    except ValueError as exc:
        raise InvalidInput("token_lifetime: a whole number of seconds.") from exc


@router.post("/dashboard/apis")
async def api_create(request: Request) -> Response:
    form = await _form(request)
    who = await _admin(request, back="/dashboard/apis")
    if isinstance(who, Response):
        return who
    try:
        await services(request).apis.register(
            who.tenant,
            NewApi(
                name=form.get("name", ""),
                identifier=form.get("identifier", "").strip(),
                scopes=_lines(form.get("scopes", "")),
                token_lifetime=_lifetime(form.get("token_lifetime", "")),
                allow_offline_access=form.get("allow_offline_access") == "on",
            ),
            await _actor(request, who),
        )
    except DomainError as exc:
        return await _apis_page(request, who, status=status_of(exc), error=exc.message, form=form)
    return see_other(with_msg("/dashboard/apis", "created"))


@router.post("/dashboard/apis/update")
async def api_update(request: Request) -> Response:
    form = await _form(request)
    who = await _admin(request, back="/dashboard/apis")
    if isinstance(who, Response):
        return who
    try:
        await services(request).apis.update(
            who.tenant,
            form.get("api", ""),
            ApiChanges(
                name=form.get("name", ""),
                scopes=tuple((s, s) for s in _lines(form.get("scopes", ""))),
                token_lifetime=_lifetime(form.get("token_lifetime", "")),
                allow_offline_access=form.get("allow_offline_access") == "on",
            ),
            await _actor(request, who),
        )
    except DomainError as exc:
        return await _apis_page(request, who, status=status_of(exc), error=exc.message)
    return see_other(with_msg("/dashboard/apis", "updated"))


# -- connections -----------------------------------------------------------------------------


async def _connections_page(
    request: Request,
    who: gate.Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    c = services(request)
    return _render(
        request,
        who,
        "dashboard/connections.html",
        "connections",
        status=status,
        title="Connections",
        connections=await c.connections.list(who.tenant),
        apps=await c.applications.list(who.tenant),
        form=form or {},
        error=error,
    )


@router.get("/dashboard/connections")
async def connections(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    return await _connections_page(request, who)


@router.post("/dashboard/connections")
async def connection_create(request: Request) -> Response:
    form = await _form(request)
    who = await _admin(request, back="/dashboard/connections")
    if isinstance(who, Response):
        return who
    try:
        options_text = form.get("options", "").strip()
        try:
            options = json_text.loads(options_text) if options_text else None
        except json_text.NonFiniteNumber as exc:
            raise InvalidInput(f"options: {json_text.MESSAGE}") from exc
        except (ValueError, RecursionError) as exc:
            raise InvalidInput("options: not valid JSON.") from exc
        if options is not None and not isinstance(options, dict):
            raise InvalidInput("options: must be a JSON object.")
        await services(request).connections.register(
            who.tenant,
            form.get("name", "").strip(),
            form.get("strategy", ""),
            await _actor(request, who),
            options=options,
        )
    except DomainError as exc:
        return await _connections_page(
            request, who, status=status_of(exc), error=exc.message, form=form
        )
    return see_other(with_msg("/dashboard/connections", "created"))


@router.post("/dashboard/connections/apps")
async def connection_apps(request: Request) -> Response:
    """Which applications may sign in with a connection (checkboxes named ``app``)."""
    raw = await read_params(request, allow_empty=True)
    csrf.check_form(request, DASHBOARD, raw)
    who = await _admin(request, back="/dashboard/connections")
    if isinstance(who, Response):
        return who
    wanted = tuple(k.removeprefix("app:") for k in raw if k.startswith("app:"))
    try:
        await services(request).connections.update(
            who.tenant,
            str(raw.get("connection") or ""),
            ConnectionChanges(enabled_clients=wanted),
            await _actor(request, who),
        )
    except DomainError as exc:
        return await _connections_page(request, who, status=status_of(exc), error=exc.message)
    return see_other(with_msg("/dashboard/connections", "updated"))


# -- keys ------------------------------------------------------------------------------------


@router.get("/dashboard/keys")
async def keys(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    found = await services(request).keys.list(who.tenant, include_retired=True)
    order = {"next": 0, "current": 1, "previous": 2, "retired": 3}
    return _render(
        request,
        who,
        "dashboard/keys.html",
        "keys",
        title="Signing keys",
        keys=sorted(found, key=lambda k: (order.get(k.state.value, 9), k.created_at)),
    )


@router.post("/dashboard/keys/rotate")
async def keys_rotate(request: Request) -> Response:
    await _form(request)
    who = await _admin(request, back="/dashboard/keys")
    if isinstance(who, Response):
        return who
    c = services(request)
    rotated = await c.keys.rotate(who.tenant)
    await c.admins.record(
        who.tenant,
        await _actor(request, who),
        "Rotate the signing keys",
        {
            "event": "keys_rotated",
            "keys": {k.kid: k.state.value for k in rotated},
        },
    )
    return see_other(with_msg("/dashboard/keys", "rotated"))
