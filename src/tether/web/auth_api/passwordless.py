"""``POST /passwordless/start`` (Auth0's passwordless email: a code, or a link carrying it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.domain.errors import DomainError
from tether.domain.passwordless import BINDING_KEY, CODE_LIFETIME, new_browser_binding
from tether.protocol.errors import InvalidClient, InvalidRequest
from tether.protocol.params import normalise, require
from tether.web import cookies
from tether.web.auth_api.errors import OAuthRoute
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant

router = APIRouter(route_class=OAuthRoute)


@router.post("/passwordless/start")
async def start(request: Request) -> Response:
    current = await tenant(request)
    raw = await read_params(request)
    auth_params = raw.get("authParams")
    params = normalise({k: v for k, v in raw.items() if k != "authParams"})
    require(params, "client_id", "connection", "email")
    send = params.get("send", "code")
    if send not in ("code", "link"):
        raise InvalidRequest("send must be code or link.")
    c = services(request)
    app = await c.applications.find(current, params["client_id"])
    if app is None:
        raise InvalidClient("Unknown client.")
    if not app.is_public:
        # A confidential client proves itself here too (Auth0 asks for its secret).
        await c.applications.authenticate(
            current, app.client_id, params.get("client_secret"), "client_secret_post"
        )
    connection = await c.passwordless.connection(current, params["connection"], app)
    link = binding = None
    if send == "link":
        binding, binding_hash = new_browser_binding()
        link = await _link(
            request, current, app.client_id, auth_params, {BINDING_KEY: binding_hash}
        )
        link += "&" + urlencode({"email": params["email"].strip().lower()})
    email = await c.passwordless.start(
        current, app, connection, params["email"], request_info(request), link=link
    )
    response = JSONResponse(
        {
            "_id": c.passwordless.subject_for(current, connection, email),
            "email": email,
            "email_verified": False,
        }
    )
    if binding is not None:
        # The browser that asked holds the secret; the link completes on its own only there
        # (web/hosted/magic_link.py). A cross-site XHR without credentials drops the cookie:
        # the link then asks before it signs in, which is the safe way round.
        name = cookies.host_only(request, cookies.MAGIC_LINK)
        response.set_cookie(
            name,
            binding,
            max_age=int(CODE_LIFETIME.total_seconds()),
            httponly=True,
            secure=cookies.is_secure(request) or name.startswith("__Host-"),
            samesite="lax",
            path="/",
        )
    return response


async def _link(
    request: Request, current: Any, client_id: str, auth_params: Any, extra: dict[str, object]
) -> str:
    """A magic link parks an /authorize request (from ``authParams``) that the code completes."""
    if not isinstance(auth_params, dict):
        raise InvalidRequest(
            "send=link needs authParams with at least redirect_uri and response_type."
        )
    c = services(request)
    params = normalise(
        {
            **{k: v for k, v in auth_params.items() if isinstance(v, str | int)},
            "client_id": client_id,
        }
    )
    try:
        app, matched_uri = await c.authorization.client_for(current, params)
        params = {**params, "redirect_uri": matched_uri}
        req = await c.authorization.validate(current, app, params)
    except DomainError as exc:
        raise InvalidRequest(exc.message) from exc
    tx_id = await c.authorization.park(current, req, extra=extra)
    return f"{current.issuer}u/passwordless/link?{urlencode({'state': tx_id})}"
