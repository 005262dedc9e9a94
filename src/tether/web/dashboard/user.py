"""``/dashboard/user``: one user, their identities (link, unlink), metadata, blocks (theirs and
brute-force protection's), recent log events, and deleting them. Each change goes through the
same service as the Management API, with the admin as the actor."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.brute_force import BruteForceGuard
from tether.domain.errors import DomainError, InvalidInput, NotFound
from tether.domain.linking import LinkIdentity
from tether.domain.log_filter import LogFilter
from tether.domain.user_admin import UserChanges
from tether.presentation.users import user_json
from tether.protocol import json_text
from tether.web.context import request_info, services
from tether.web.dashboard.common import Admin, Form, actor, admin_after_form, section_page
from tether.web.dashboard.logs import LOG_LABELS
from tether.web.errors import status_of
from tether.web.html import gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other, with_msg

router = APIRouter(route_class=HtmlRoute)


def user_url(user_id: str, msg: str | None = None) -> str:
    params = {"id": user_id}
    if msg:
        params["msg"] = msg
    return f"/dashboard/user?{urlencode(params)}"


def _user_path(request: Request, form: dict[str, str]) -> str:
    return user_url(form.get("id", ""))


#: The admin of a POST about one user (the form's ``id``): a sign-in comes back to that user.
UserAdmin = Annotated[gate.Visitor, admin_after_form(_user_path)]


async def show_user(
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
        return section_page(
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
    return section_page(
        request,
        who,
        "dashboard/user.html",
        "users",
        status=status,
        title=user.email or user.user_id,
        user=user,
        rows=rows,
        raw=json.dumps(user_json(user), indent=2, ensure_ascii=False),
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
async def user_page(request: Request, who: Admin) -> Response:
    return await show_user(request, who, request.query_params.get("id") or "")


@router.post("/dashboard/user/unlink")
async def user_unlink(request: Request, form: Form, who: UserAdmin) -> Response:
    user_id = form.get("id", "")
    try:
        await services(request).linking.unlink(
            who.tenant,
            user_id,
            form.get("provider", ""),
            form.get("identity", ""),
            await actor(request, who),
        )
    except DomainError as exc:
        return await show_user(request, who, user_id, status=status_of(exc), error=exc.message)
    return see_other(user_url(user_id, "user_unlinked"))


@router.post("/dashboard/user/link")
async def user_link(request: Request, form: Form, who: UserAdmin) -> Response:
    user_id = form.get("id", "")
    other = form.get("secondary", "").strip()
    provider, sep, subject = other.partition("|")
    if not sep or not provider or not subject:
        return await show_user(
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
            await actor(request, who),
        )
    except DomainError as exc:
        return await show_user(
            request, who, user_id, status=status_of(exc), error=exc.message, link_value=other
        )
    return see_other(user_url(user_id, "user_linked"))


def _replace(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The merge patch (Auth0's PATCH semantics) that turns ``current`` into ``wanted``."""
    patch: dict[str, Any] = {k: None for k in current if k not in wanted}
    patch.update(wanted)
    return patch


@router.post("/dashboard/user/metadata")
async def user_metadata(request: Request, form: Form, who: UserAdmin) -> Response:
    user_id = form.get("id", "")
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
            who.tenant.id, user_id, UserChanges(values), await actor(request, who)
        )
    except DomainError as exc:
        return await show_user(
            request,
            who,
            user_id,
            status=status_of(exc),
            error=exc.message,
            metadata={**texts, "error": exc.message},
        )
    return see_other(user_url(user_id, "updated"))


@router.post("/dashboard/user/block")
async def user_block(request: Request, form: Form, who: UserAdmin) -> Response:
    user_id = form.get("id", "")
    blocked = form.get("blocked") == "true"
    try:
        await services(request).user_admin.update(
            who.tenant.id,
            user_id,
            UserChanges({"blocked": blocked}),
            await actor(request, who),
        )
    except DomainError as exc:
        return await show_user(request, who, user_id, status=status_of(exc), error=exc.message)
    return see_other(user_url(user_id, "blocked" if blocked else "unblocked"))


@router.post("/dashboard/user/unblock-logins")
async def user_unblock_logins(request: Request, form: Form, who: UserAdmin) -> Response:
    """Lift the blocks brute-force protection set (as DELETE /api/v2/user-blocks/{id})."""
    user_id = form.get("id", "")
    c = services(request)
    try:
        user = await c.user_admin.get(who.tenant.id, user_id)
    except DomainError as exc:
        return await show_user(request, who, user_id, status=status_of(exc), error=exc.message)
    await c.guard.unblock(
        who.tenant,
        BruteForceGuard.identifiers_of(user),
        user=user,
        actor=who.user.user_id,
        request=request_info(request),
    )
    return see_other(user_url(user_id, "logins_unblocked"))


@router.get("/dashboard/user/delete")
async def user_delete_confirm(request: Request, who: Admin) -> Response:
    user_id = request.query_params.get("id") or ""
    try:
        user = await services(request).user_admin.get(who.tenant.id, user_id)
    except NotFound:
        return await show_user(request, who, user_id)
    return section_page(
        request, who, "dashboard/delete.html", "users", title="Delete user?", user=user
    )


@router.post("/dashboard/user/delete")
async def user_delete(request: Request, form: Form, who: UserAdmin) -> Response:
    user_id = form.get("id", "")
    try:
        await services(request).user_admin.delete(who.tenant.id, user_id, await actor(request, who))
    except DomainError as exc:
        return await show_user(request, who, user_id, status=status_of(exc), error=exc.message)
    return see_other(with_msg("/dashboard/users", "deleted"))
