"""Administering users: what the Management API's /users endpoints and the CLI do.

Auth0's semantics (auth0-wire.md §2.4): create answers the full user; PATCH merges
``user_metadata`` / ``app_metadata`` at the first level and a ``null`` deletes a key; a new
password ends every way in (``UserAccess.credential_changed``); delete removes the user with every
identity linked to it, and its ``user_id`` is never issued again. A new password, a block and a
delete end the user's access at once (domain/access.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tether.domain.access import UserAccess
from tether.domain.actor import Actor, operation_details, record_change
from tether.domain.audit import Audit, LogType
from tether.domain.clock import Clock
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.models import User
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.user_search import Query, Sort
from tether.domain.users import (
    PROFILE_FIELDS,
    DatabaseUsers,
    NewDatabaseUser,
    add_database_user,
    normalise_email,
)
from tether.domain.verification import VerificationMail
from tether.protocol import json_text

METADATA_MAX_BYTES = 16 * 1024
MAX_SEARCH_WINDOW = 1000
_MISSING = object()


def merge_metadata(current: dict[str, Any], patch: Any, name: str) -> dict[str, Any]:
    """First-level merge; ``None`` deletes a key (Auth0's PATCH /users semantics)."""
    if patch is None:
        return {}
    if not isinstance(patch, dict):
        raise InvalidInput(
            f"Payload validation error: '{name}' must be an object.", code="invalid_body"
        )
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    check_metadata(merged, name)
    return merged


def check_metadata(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(
            f"Payload validation error: '{name}' must be an object.", code="invalid_body"
        )
    if json_text.has_non_finite(value):
        raise InvalidInput(
            f"Payload validation error: '{name}': {json_text.MESSAGE}", code="invalid_body"
        )
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > METADATA_MAX_BYTES:
        raise InvalidInput(
            f"Payload validation error: '{name}' is {size} bytes; at most {METADATA_MAX_BYTES}.",
            code="invalid_body",
        )
    return dict(value)


def check_strings(body: dict[str, Any]) -> None:
    """Top-level strings go to columns as they are: a NUL (PostgreSQL refuses it, a 500 before)
    or a lone surrogate (no UTF-8 for it) is refused up front. Metadata is stored as JSON text,
    with both escaped."""
    for name, value in body.items():
        if isinstance(value, str) and any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
            raise InvalidInput(
                f"Payload validation error: '{name}' may not hold a NUL or a lone surrogate.",
                code="invalid_body",
            )


@dataclass
class UserChanges:
    """A PATCH body, already type-checked by the web layer. Unset fields are left alone."""

    values: dict[str, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> Any:
        return self.values.get(name)


class UserAdmin:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        db_users: DatabaseUsers,
        audit: Audit,
        clock: Clock,
        access: UserAccess,
        verification: VerificationMail,
    ):
        self._uow = uow
        self._verification = verification
        self._db = db_users
        self._audit = audit
        self._clock = clock
        self._access = access

    async def get(self, tenant_id: str, user_id: str) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(tenant_id, user_id)
        if user is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return user

    async def by_email(self, tenant_id: str, email: str) -> list[User]:
        async with self._uow(read_only=True) as uow:
            return await uow.users.by_email(tenant_id, email.strip().lower())

    async def search(
        self,
        tenant_id: str,
        query: Query | None,
        *,
        page: int,
        per_page: int,
        sort: Sort | None,
    ) -> tuple[list[User], int]:
        """A page of users and the total matching. Only the first 1000 are reachable (Auth0)."""
        if (page + 1) * per_page > MAX_SEARCH_WINDOW and per_page > 0:
            raise InvalidInput(
                "You can only page through the first 1000 records. "
                "See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation.",
                code="invalid_paging",
            )
        async with self._uow(read_only=True) as uow:
            return await uow.users.search(
                tenant_id, query, sort=sort, offset=page * per_page, limit=per_page
            )

    async def create(self, tenant_id: str, body: dict[str, Any], actor: Actor) -> User:
        """``POST /api/v2/users`` for a database connection (other kinds come with them)."""
        check_strings(body)
        async with self._uow(read_only=True) as uow:
            tenant = await uow.tenants.get(tenant_id)
            connection = await uow.connections.by_name(tenant_id, str(body.get("connection") or ""))
        if tenant is None:
            raise NotFound("No such tenant.", code="inexistent_tenant")
        if connection is None:
            raise InvalidInput("The connection does not exist.", code="inexistent_connection")
        if not connection.is_database:
            raise InvalidInput(
                f"Creating users on a {connection.strategy} connection is not supported.",
                code="operation_not_supported",
            )
        if not body.get("email") or not body.get("password"):
            raise InvalidInput(
                "Payload validation error: 'email' and 'password' are required for a database connection.",
                code="invalid_body",
            )
        spec = NewDatabaseUser(
            email=str(body["email"]),
            password=str(body["password"]),
            email_verified=bool(body.get("email_verified", False)),
            user_metadata=check_metadata(body.get("user_metadata") or {}, "user_metadata"),
            app_metadata=check_metadata(body.get("app_metadata") or {}, "app_metadata"),
            profile={k: str(body[k]) for k in PROFILE_FIELDS if body.get(k)},
            blocked=bool(body.get("blocked", False)),
        )
        password_hash = await self._db.hash_new(spec)
        wanted_id = body.get("user_id")
        async with self._uow() as uow:
            user = await add_database_user(
                uow, tenant, connection, spec, password_hash, self._clock.now(), subject=wanted_id
            )
            await record_change(
                self._audit,
                uow,
                tenant_id,
                actor,
                "Create a user",
                operation_details(actor, "user_created"),
                user=user,
                connection=connection,
            )
            # Auth0: "User will receive a verification email after creation if email_verified
            # is false or not specified"; ``verify_email`` overrides it either way.
            if bool(body.get("verify_email", not user.email_verified)) and not user.email_verified:
                await self._verification.queue_mail(uow, tenant, user)
            await uow.commit()
        return user

    async def update(
        self,
        tenant_id: str,
        user_id: str,
        changes: UserChanges,
        actor: Actor,
        *,
        verify_email: bool | None = None,
    ) -> User:
        """``PATCH /api/v2/users/{id}``. A new email is unverified (unless ``email_verified``
        says otherwise) and gets a verification mail (unless ``verify_email`` is false)."""
        check_strings(changes.values)
        if changes.has("password") and changes.has("email"):
            raise InvalidInput(
                "Cannot update password and email simultaneously.", code="invalid_body"
            )
        new_hash = None
        user = await self.get(tenant_id, user_id)
        if changes.has("password"):
            password = changes.get("password")
            if not isinstance(password, str):
                raise InvalidInput(
                    "Payload validation error: 'password' must be a string.", code="invalid_body"
                )
            new_hash = await self._db.hash_for(password, user.email)
        now = self._clock.now()
        changed: list[str] = []
        email_changed = False
        async with self._uow() as uow:
            found = await uow.users.get(tenant_id, user_id)
            if found is None:
                raise NotFound("The user does not exist.", code="inexistent_user")
            user = found
            credential = None
            for identity in user.identities:
                credential = credential or await uow.credentials.for_identity(identity.id)
            if new_hash is not None:
                if credential is None:
                    raise InvalidInput(
                        "This user has no password to change.", code="operation_not_supported"
                    )
                await uow.credentials.set_hash(credential.identity_id, new_hash, now)
                tenant = await uow.tenants.get(tenant_id)
                if tenant is None:
                    raise NotFound("No such tenant.", code="inexistent_tenant")
                await self._access.credential_changed(
                    uow,
                    tenant,
                    user,
                    how="set by an administrator" if actor.user_id is None else "set by the user",
                    request=actor.request,
                    client_id=actor.client_id,
                    at=now,
                )
                changed.append("password")
            if changes.has("email"):
                email = normalise_email(changes.get("email"))
                if credential is not None and email != credential.email:
                    if await uow.credentials.by_email(tenant_id, credential.connection_id, email):
                        raise Conflict("The specified new email already exists", code="user_exists")
                    await uow.credentials.set_email(credential.identity_id, email)
                email_changed = email != (user.email or "")
                user.email = email
                user.email_verified = (
                    bool(changes.get("email_verified")) if changes.has("email_verified") else False
                )
                changed.append("email")
            elif changes.has("email_verified"):
                user.email_verified = bool(changes.get("email_verified"))
                changed.append("email_verified")
            for name in PROFILE_FIELDS:
                if changes.has(name):
                    value = changes.get(name)
                    setattr(user, name, None if value in (None, "") else str(value))
                    changed.append(name)
            if changes.has("blocked"):
                user.blocked = bool(changes.get("blocked"))
                changed.append("blocked")
                if user.blocked:
                    await self._access.end_user_access(uow, tenant_id, user, at=now)
            if changes.has("user_metadata"):
                user.user_metadata = merge_metadata(
                    user.user_metadata, changes.get("user_metadata"), "user_metadata"
                )
                changed.append("user_metadata")
            if changes.has("app_metadata"):
                user.app_metadata = merge_metadata(
                    user.app_metadata, changes.get("app_metadata"), "app_metadata"
                )
                changed.append("app_metadata")
            user.updated_at = now
            await uow.users.update(user)
            if email_changed and verify_email is not False:
                # A new address is unverified until its owner uses the link mailed to it;
                # links to the old address die with it.
                tenant = await uow.tenants.get(tenant_id)
                if tenant is not None:
                    await self._verification.email_changed(uow, tenant, user)
            await record_change(
                self._audit,
                uow,
                tenant_id,
                actor,
                "Update a user",
                {"fields": changed, "actor": actor.who},
                user=user,
            )
            await uow.commit()
        return await self.get(tenant_id, user_id)

    async def delete(self, tenant_id: str, user_id: str, actor: Actor) -> None:
        """Delete the user and every identity linked to it; its id is retired for good."""
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(tenant_id, user_id)
            if user is None:
                raise NotFound("The user does not exist.", code="inexistent_user")
            # The row goes, but this process refuses its tokens at once; other processes see
            # the retired id (retired_user_ids.retired_at) at their next poll.
            await self._access.end_user_access(uow, tenant_id, user, at=now)
            await uow.users.delete(tenant_id, user.pk, retired_at=now)
            await self._audit.record(
                uow,
                tenant_id,
                LogType.SUCCESS_API_OPERATION,
                actor.request,
                description="Delete a user",
                client_id=actor.client_id,
                user_id=user.user_id,
                user_name=user.email,
                details={"identities": [i.user_id for i in user.identities]},
            )
            await self._audit.record(
                uow,
                tenant_id,
                LogType.DELETED_USER,
                actor.request,
                client_id=actor.client_id,
                user_id=user.user_id,
                user_name=user.email,
            )
            await uow.commit()
