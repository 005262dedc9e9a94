"""``GET /client/{client_id}.js``: ``Auth0.setClient({...})``, the configuration Lock 14 loads
with a ``<script>`` before it draws (lock-protocol.md §1): the app's enabled connections by
strategy, with what Lock shows of each (sign-up, forgot-password, the password policy). No CORS
and nothing secret: a script tag reads it from any page."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import NotFound
from tether.domain.models import Application, Connection, Tenant
from tether.web.context import services, tenant

router = APIRouter()

#: Lock's password meter knows only these (auth0-password-policies 3.1.0); others break it.
LOCK_POLICIES = frozenset({"none", "low", "fair", "good", "excellent"})
#: Tether's strategy -> the one Lock shows: an OIDC connection is a button (Lock's ``oauth2``),
#: not the enterprise home-realm discovery Lock would make of ``oidc``.
LOCK_STRATEGY = {"oidc": "oauth2"}


def _lock_connection(c: Connection) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name}
    label = c.options.get("display_name")
    if isinstance(label, str) and label:
        out["display_name"] = label
    if c.is_database:
        policy = c.options.get("passwordPolicy")
        complexity = c.options.get("password_complexity_options")
        out.update(
            showSignup=not c.options.get("disable_signup", False),
            showForgot=True,
            requires_username=bool(c.options.get("requires_username", False)),
            passwordPolicy=policy if policy in LOCK_POLICIES else "none",
        )
        if isinstance(complexity, dict) and isinstance(complexity.get("min_length"), int):
            out["password_complexity_options"] = {"min_length": complexity["min_length"]}
    return out


def client_configuration(current: Tenant, app: Application, found: list[Connection]) -> str:
    strategies: dict[str, list[dict[str, Any]]] = {}
    for c in found:
        strategies.setdefault(LOCK_STRATEGY.get(c.strategy, c.strategy), []).append(
            _lock_connection(c)
        )
    body = {
        "id": app.client_id,
        "tenant": current.name,
        # Not "free"/"dev": Lock would show its "Protected with Auth0" badge.
        "subscription": "enterprise",
        "strategies": [{"name": k, "connections": v} for k, v in strategies.items()],
    }
    # "<" escaped: the JSON goes into a script, and a display name may hold "</script>".
    text = json.dumps(body, separators=(",", ":")).replace("<", "\\u003c")
    return f"Auth0.setClient({text});\n"


@router.get("/client/{file_name}")
async def client_script(request: Request, file_name: str) -> Response:
    """Lock loads ``/client/{client_id}.js?t<ms>`` (the query is a cache buster)."""
    current = await tenant(request)
    c = services(request)
    client_id = file_name.removesuffix(".js")
    try:
        if not file_name.endswith(".js"):
            raise NotFound("No such client.")
        app = await c.applications.get(current, client_id)
    except NotFound:
        return Response(
            "/* no such client */\n",
            status_code=404,
            media_type="application/javascript; charset=utf-8",
        )
    found = await c.connections.enabled_for(current, app.client_id)
    return Response(
        client_configuration(current, app, found),
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
