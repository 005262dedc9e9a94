"""``POST /api/v2/users/{id}/identities`` and ``DELETE .../identities/{provider}/{user_id}``
(auth0-wire.md §1.1, §1.3): JSON or form bodies, user-initiated (``link_with``) or server-side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

from tether.domain.linking import LinkIdentity, LinkWith
from tether.presentation.users import identities_json
from tether.web.body import read_params
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.deps import bearer_scheme, caller_or_id_token, unstorable
from tether.web.management.errors import ManagementError
from tether.web.management.views import ManagementRoute

router = APIRouter(dependencies=[Security(bearer_scheme)], route_class=ManagementRoute)
Who = Annotated[Caller, Depends(caller_or_id_token)]
SCOPES = (["update:users"], ["update:current_user_identities"])


class LinkBody(BaseModel):
    """Auth0's LinkUserIdentityRequestContent: ``link_with`` alone, or provider + user_id."""

    model_config = ConfigDict(extra="forbid")
    provider: str | None = Field(default=None, min_length=1, max_length=64)
    connection_id: str | None = Field(default=None, min_length=1, max_length=64)
    user_id: str | int | None = None
    link_with: str | None = Field(default=None, min_length=1, max_length=16384)


def _parse(raw: dict[str, Any]) -> LinkBody:
    if not raw:
        raise ManagementError(
            400, "Payload validation error: at least one property is required.", "invalid_body"
        )
    for name, value in raw.items():
        if isinstance(value, str) and unstorable(value):
            raise ManagementError(
                400,
                f"Payload validation error: '{name}' may not hold a NUL or a lone surrogate.",
                "invalid_body",
            )
    try:
        body = LinkBody.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ManagementError(
            400, f"Payload validation error: {first.get('msg')} ({where})", "invalid_body"
        ) from exc
    return body


@router.post(
    "/users/{id}/identities",
    status_code=201,
    response_model=list[schemas.Identity],
    responses={**schemas.ERRORS, 404: {"model": schemas.Error}, 409: {"model": schemas.Error}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": LinkBody.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": LinkBody.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def link(request: Request, who: Who, id: str) -> list[dict[str, Any]]:
    who.require_for_user(id, *SCOPES)
    body = _parse(await read_params(request))
    if body.link_with is not None:
        if body.provider is not None or body.user_id is not None or body.connection_id is not None:
            raise ManagementError(
                400,
                "Payload validation error: link_with cannot be sent with provider, user_id or connection_id.",
                "invalid_body",
            )
        machine = who.is_machine and "update:users" in who.scopes
        if not machine and who.client_id is None:
            # caller_azp=None means "a machine may name any application": never for a user
            # token, whose azp is what the secondary's aud must match.
            raise ManagementError(
                400,
                "JWT (link_with) must have an aud claim that matches that of the calling token's azp.",
                "invalid_body",
            )
        spec: LinkWith | LinkIdentity = LinkWith(body.link_with, None if machine else who.client_id)
    else:
        if body.provider is None:
            raise ManagementError(
                400, "The provider/connection is not configured.", "inexistent_connection"
            )
        if body.user_id is None or body.user_id == "":
            raise ManagementError(
                400, "Payload validation error: 'user_id' is required.", "invalid_body"
            )
        if not (who.is_machine and "update:users" in who.scopes):
            # A user proves ownership of the second account with its ID token, never by naming it.
            raise ManagementError(
                403, "Insufficient scope, expected any of: update:users", "insufficient_scope"
            )
        spec = LinkIdentity(body.provider, str(body.user_id), body.connection_id)
    identities = await services(request).linking.link(who.tenant, id, spec, who.actor)
    return identities_json(identities)


@router.delete(
    "/users/{id}/identities/{provider}/{user_id:path}",
    response_model=list[schemas.Identity],
    responses={**schemas.ERRORS, 404: {"model": schemas.Error}},
)
async def unlink(
    request: Request, who: Who, id: str, provider: str, user_id: str
) -> list[dict[str, Any]]:
    who.require_for_user(id, *SCOPES)
    identities = await services(request).linking.unlink(
        who.tenant, id, provider, user_id, who.actor
    )
    return identities_json(identities)
