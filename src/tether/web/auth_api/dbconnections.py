"""``POST /dbconnections/signup`` and ``POST /dbconnections/change_password`` (auth0-wire.md §3.5, §3.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.domain.errors import InvalidInput
from tether.domain.users import PROFILE_FIELDS, NewDatabaseUser, check_signup_metadata
from tether.protocol.errors import InvalidClient
from tether.protocol.params import normalise, require
from tether.web.auth_api.errors import OAuthRoute, SignupRoute
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant

router = APIRouter(route_class=OAuthRoute)
#: Signup answers in its own shape (auth0-wire.md §3.5); change_password in OAuth's.
signup_router = APIRouter(route_class=SignupRoute)


#: The longest value each profile field may have (the users table's column sizes).
PROFILE_MAX = {
    "username": 128,
    "given_name": 256,
    "family_name": 256,
    "name": 512,
    "nickname": 256,
    "picture": 2048,
}


def _strings(raw: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in names:
        value = raw.get(name)
        if value is None or value == "":
            continue
        limit = PROFILE_MAX.get(name, 2048)
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidInput(f"{name}: must be a string of at most {limit} characters.")
        out[name] = value
    return out


@signup_router.post("/dbconnections/signup")
async def signup(request: Request) -> Response:
    current = await tenant(request)
    raw = await read_params(request)
    metadata = check_signup_metadata(raw.get("user_metadata"))
    params = normalise({k: v for k, v in raw.items() if k != "user_metadata"})
    require(params, "client_id", "email", "password", "connection")
    c = services(request)
    app = await c.applications.find(current, params["client_id"])
    if app is None:
        raise InvalidClient("Unknown client.")
    user = await c.users.signup(
        current,
        app,
        params["connection"],
        NewDatabaseUser(
            email=params["email"],
            password=params["password"],
            user_metadata=metadata,
            profile=_strings(params, PROFILE_FIELDS),
        ),
        request_info(request),
    )
    body: dict[str, Any] = {
        "_id": user.user_id.split("|", 1)[1],
        "email": user.email,
        "email_verified": user.email_verified,
    }
    for name in PROFILE_FIELDS:
        value = getattr(user, name)
        if value:
            body[name] = value
    if user.user_metadata:
        body["user_metadata"] = user.user_metadata
    return JSONResponse(body)


@router.post("/dbconnections/change_password")
async def change_password(request: Request) -> Response:
    current = await tenant(request)
    params = normalise(await read_params(request))
    require(params, "client_id", "email")
    c = services(request)
    app = await c.applications.find(current, params["client_id"])
    if app is None:
        raise InvalidClient("Unknown client.")
    await c.users.request_password_change(
        current, app, params.get("connection"), params["email"], request_info(request)
    )
    return JSONResponse("We've just sent you an email to reset your password.")


router.include_router(signup_router)
