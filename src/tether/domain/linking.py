"""Linking and unlinking identities (Auth0's ``POST`` / ``DELETE /api/v2/users/{id}/identities``).

The invariants of DESIGN.md hold after every call: every identity belongs to exactly one user,
every user has exactly one primary identity, (connection, subject) is unique, and a link or
unlink commits together with its log event or not at all. Both users are locked in a fixed order
(their primary keys), so two links racing for the same secondary end with one 201 and one 409.

Beyond Auth0: the secondary's root profile and metadata are kept on its identity (``detached``)
and given back when it is unlinked; every link records who did it, how, and with which proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tether.domain.audit import Audit, LogType
from tether.domain.clock import Clock, epoch
from tether.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from tether.domain.ids import new_id
from tether.domain.keys import KeyService
from tether.domain.models import Identity, Tenant, User, iso8601
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.user_admin import Actor
from tether.domain.views import identity_view
from tether.protocol import jose

#: Root fields of a user that travel with its identity when it is linked, and come back.
PROFILE_FIELDS = (
    "email",
    "email_verified",
    "username",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
)
MERGE_DISCARD = "discard"
MERGE_MERGE = "merge"


class LinkError(InvalidInput):
    """A 400 with Auth0's message for the linking endpoints."""

    code = "invalid_body"


class LinkUnavailable(DomainError):
    """Linking needs a user the caller cannot see (another tenant, or gone)."""

    code = "inexistent_user"


@dataclass(frozen=True)
class LinkWith:
    """User-initiated: the secondary account's ID token. ``caller_azp`` is the calling token's
    ``azp``; None for a machine token with ``update:users`` (which may name any application)."""

    id_token: str
    caller_azp: str | None


@dataclass(frozen=True)
class LinkIdentity:
    """Server-side: the secondary user named by provider and user id (with or without prefix)."""

    provider: str
    user_id: str
    connection_id: str | None = None


def merge_metadata(primary: dict[str, Any], secondary: dict[str, Any]) -> dict[str, Any]:
    """``linking.metadata_merge: merge``: the secondary fills what the primary lacks; nested
    objects merge the same way; lists are concatenated without duplicates."""
    out = dict(primary)
    for key, value in secondary.items():
        if key not in out or out[key] is None:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = merge_metadata(out[key], value)
        elif isinstance(out[key], list) and isinstance(value, list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
    return out


def _snapshot(user: User) -> list[str]:
    return [i.user_id for i in user.identities]


class LinkingService:
    def __init__(self, uow: UnitOfWorkFactory, keys: KeyService, audit: Audit, clock: Clock):
        self._uow = uow
        self._keys = keys
        self._audit = audit
        self._clock = clock

    # -- resolving the secondary ----------------------------------------------------

    async def _verify_link_with(self, tenant: Tenant, spec: LinkWith) -> tuple[str, dict[str, Any]]:
        """Auth0's checks of ``link_with``, each with its own message (auth0-wire.md §1.1)."""
        keyset = await self._keys.keyset(tenant)
        try:
            header = jose.unverified_header(spec.id_token)
        except jose.TokenRejected as exc:
            raise LinkError("Invalid token (link_with).") from exc
        if header.get("alg") != jose.ALGORITHM:
            raise LinkError("JWT (link_with) must have an alg of RS256.")
        try:
            claims = jose.verify(
                spec.id_token,
                keyset.public_jwks,
                issuer=tenant.issuer,
                audience=None,
                now=epoch(self._clock.now()),
            )
        except jose.TokenRejected as exc:
            if exc.reason == "iss":
                raise LinkError(
                    "JWT (link_with) must have the same issuer as the calling user."
                ) from exc
            raise LinkError("Invalid token (link_with).") from exc
        sub = claims.get("sub")
        if "sub" not in claims:
            raise LinkError("JWT (link_with) must contains sub claim.")
        if not isinstance(sub, str) or "|" not in sub:
            raise LinkError("JWT (link_with) contains an invalid sub claim.")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not audiences or not all(isinstance(a, str) for a in audiences):
            raise LinkError("JWT (link_with) contains an invalid aud claim.")
        if len(audiences) > 1 and claims.get("azp") not in audiences:
            raise LinkError("JWT (link_with) contains an invalid aud claim.")
        if spec.caller_azp is not None and spec.caller_azp not in audiences:
            raise LinkError(
                "JWT (link_with) must have an aud claim that matches that of the calling token's azp."
            )
        if (
            len(audiences) > 1
            and spec.caller_azp is not None
            and claims.get("azp") != spec.caller_azp
        ):
            # OIDC Core §3.1.3.7: with several audiences, azp names the party it was issued to.
            raise LinkError("JWT (link_with) contains an invalid aud claim.")
        return sub, claims

    async def _identity_owner(
        self, uow: UnitOfWork, tenant: Tenant, spec: LinkIdentity
    ) -> tuple[str, Identity]:
        """The secondary's user_id from provider/user_id, and the identity it names."""
        subject = str(spec.user_id)
        if subject.startswith(spec.provider + "|"):
            subject = subject[len(spec.provider) + 1 :]
        if not subject:
            raise LinkError("Payload validation error: 'user_id' must not be empty.")
        candidates = []
        for connection in await uow.connections.list(tenant.id):
            if spec.connection_id is not None and connection.id != spec.connection_id:
                continue
            identity = await uow.identities.find(tenant.id, connection.id, subject)
            if identity is not None and identity.provider == spec.provider:
                candidates.append(identity)
        if spec.connection_id is not None and not any(
            c.id == spec.connection_id for c in await uow.connections.list(tenant.id)
        ):
            raise LinkError(
                "The provider/connection is not configured.", code="inexistent_connection"
            )
        if not candidates:
            raise LinkError("Provided secondary account not found.")
        if len(candidates) > 1:
            raise LinkError(
                "Several connections of this provider hold this user id: send connection_id.",
            )
        return f"{spec.provider}|{subject}", candidates[0]

    # -- link ---------------------------------------------------------------------------

    async def link(
        self,
        tenant: Tenant,
        primary_id: str,
        spec: LinkWith | LinkIdentity,
        actor: Actor,
    ) -> list[dict[str, Any]]:
        """Move the secondary user's identities to the primary; the secondary user stops
        existing. Returns the primary's identities, Auth0's 201 body."""
        proof: dict[str, Any]
        if isinstance(spec, LinkWith):
            secondary_id, claims = await self._verify_link_with(tenant, spec)
            method = "link_with"
            proof = {
                "id_token": {
                    "aud": claims.get("aud"),
                    "iat": claims.get("iat"),
                    "auth_time": claims.get("auth_time"),
                }
            }
        else:
            method = "server_side"
            proof = {"provider": spec.provider, "connection_id": spec.connection_id}
        now = self._clock.now()
        async with self._uow() as uow:
            if isinstance(spec, LinkIdentity):
                secondary_id, named = await self._identity_owner(uow, tenant, spec)
            primary = await uow.users.get(tenant.id, primary_id)
            if primary is None:
                raise NotFound("The user does not exist.", code="inexistent_user")
            if secondary_id == primary.user_id:
                raise LinkError("Main identity and the new one are the same.")
            if any(i.user_id == secondary_id for i in primary.identities):
                raise Conflict("Specified identity already exists.", code="identity_conflict")
            secondary = await uow.users.get(tenant.id, secondary_id)
            if secondary is None:
                if isinstance(spec, LinkIdentity) or await self._identity_exists(
                    uow, tenant, secondary_id
                ):
                    # The identity exists but already belongs to another user.
                    raise Conflict("Specified identity already exists.", code="identity_conflict")
                raise LinkError("Provided secondary account not found.")
            if secondary.blocked:
                raise LinkError("Unable to link with the secondary account.")
            # Lock both rows in a fixed order, then read them again: what we decide on is what
            # we change (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write lock is held).
            locked = await uow.users.lock(tenant.id, sorted([primary.pk, secondary.pk]))
            if len(locked) != 2:
                raise Conflict("Specified identity already exists.", code="identity_conflict")
            primary = await uow.users.by_pk(tenant.id, primary.pk)
            secondary = await uow.users.by_pk(tenant.id, secondary.pk)
            if primary is None or secondary is None:
                raise Conflict("Specified identity already exists.", code="identity_conflict")
            before = _snapshot(primary)
            reason = {
                "at": iso8601(now),
                "method": method,
                "actor": {
                    "client_id": actor.client_id,
                    "user_id": actor.user_id,
                    "ip": actor.request.ip,
                },
                "proof": proof,
                "secondary_user_id": secondary.user_id,
            }
            kept_profile = {
                f: getattr(secondary, f)
                for f in PROFILE_FIELDS
                if getattr(secondary, f) is not None
            }
            detached = {
                "user_id": secondary.user_id,
                "profile": kept_profile,
                "user_metadata": secondary.user_metadata,
                "app_metadata": secondary.app_metadata,
                "created_at": iso8601(secondary.created_at),
                "logins_count": secondary.logins_count,
                "last_login": iso8601(secondary.last_login),
                "last_ip": secondary.last_ip,
                "identities": _snapshot(secondary),
            }
            moved = await uow.identities.move(tenant.id, secondary.pk, primary.pk)
            if moved != len(secondary.identities):
                raise Conflict("Specified identity already exists.", code="identity_conflict")
            for identity in secondary.identities:
                identity.user_pk = primary.pk
                identity.linked_at = now
                identity.link_reason = reason
                if identity.is_primary:
                    identity.is_primary = False
                    identity.profile_data = {**identity.profile_data, **kept_profile}
                    identity.detached = detached
                await uow.identities.update(identity)
            if (
                str(tenant.settings.get("linking", {}).get("metadata_merge", MERGE_DISCARD))
                == MERGE_MERGE
            ):
                primary.user_metadata = merge_metadata(
                    primary.user_metadata, secondary.user_metadata
                )
                primary.app_metadata = merge_metadata(primary.app_metadata, secondary.app_metadata)
            primary.updated_at = now
            await uow.users.update(primary)
            # The secondary user's sessions, codes and refresh tokens go with its row.
            await uow.users.delete_row(tenant.id, secondary.pk)
            after = await uow.identities.for_user(tenant.id, primary.pk)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_API_OPERATION,
                actor.request,
                description="Link an identity",
                client_id=actor.client_id,
                user=primary,
                details={
                    "event": "identity_linked",
                    "method": method,
                    "actor": reason["actor"],
                    "proof": proof,
                    "secondary_user_id": secondary.user_id,
                    "before": before,
                    "after": [i.user_id for i in after],
                },
            )
            await uow.commit()
        return [identity_view(i, with_profile=not i.is_primary) for i in after]

    async def _identity_exists(self, uow: UnitOfWork, tenant: Tenant, user_id: str) -> bool:
        provider, _, subject = user_id.partition("|")
        for connection in await uow.connections.list(tenant.id):
            identity = await uow.identities.find(tenant.id, connection.id, subject)
            if identity is not None and identity.provider == provider:
                return True
        return False

    # -- unlink ---------------------------------------------------------------------------

    async def unlink(
        self, tenant: Tenant, primary_id: str, provider: str, user_id: str, actor: Actor
    ) -> list[dict[str, Any]]:
        """Detach one identity: it becomes a user again with its old user_id, its profile and
        (unlike Auth0) its own metadata. Returns the primary's remaining identities."""
        subject = user_id[len(provider) + 1 :] if user_id.startswith(provider + "|") else user_id
        now = self._clock.now()
        async with self._uow() as uow:
            primary = await uow.users.get(tenant.id, primary_id)
            if primary is None:
                raise NotFound("The user does not exist.", code="inexistent_user")
            # Lock the primary, then read it again: what we decide on is what we change (an
            # unlink racing this one for the same identity then finds it gone: 404, not 409).
            locked = await uow.users.lock(tenant.id, [primary.pk])
            if locked:
                primary = await uow.users.by_pk(tenant.id, primary.pk)
            if not locked or primary is None:
                raise Conflict("The user changed during the request; try again.", code="conflict")
            target = next(
                (i for i in primary.identities if i.provider == provider and i.subject == subject),
                None,
            )
            if target is None:
                raise NotFound(
                    "The identity is not linked to this user.", code="inexistent_identity"
                )
            if target.is_primary:
                raise LinkError("Main identity cannot be removed.")
            before = _snapshot(primary)
            kept = target.detached or {}
            profile = dict(kept.get("profile") or {})
            for key in PROFILE_FIELDS:
                if key not in profile and target.profile_data.get(key) is not None:
                    profile[key] = target.profile_data[key]
            restored = User(
                pk=new_id("usr_"),
                tenant_id=tenant.id,
                user_id=target.user_id,
                email=_str_or_none(profile.get("email")),
                email_verified=bool(profile.get("email_verified", False)),
                created_at=_parse(kept.get("created_at")) or now,
                updated_at=now,
                username=_str_or_none(profile.get("username")),
                name=_str_or_none(profile.get("name")),
                given_name=_str_or_none(profile.get("given_name")),
                family_name=_str_or_none(profile.get("family_name")),
                nickname=_str_or_none(profile.get("nickname")),
                picture=_str_or_none(profile.get("picture")),
                user_metadata=dict(kept.get("user_metadata") or {}),
                app_metadata=dict(kept.get("app_metadata") or {}),
                logins_count=int(kept.get("logins_count") or 0),
                last_login=_parse(kept.get("last_login")),
                last_ip=_str_or_none(kept.get("last_ip")),
            )
            if await uow.users.get(tenant.id, restored.user_id) is not None:
                raise Conflict("A user with this identity's id exists already.", code="user_exists")
            await uow.users.add(restored)
            target.user_pk = restored.pk
            target.is_primary = True
            target.linked_at = now
            target.link_reason = {
                "at": iso8601(now),
                "method": "unlink",
                "actor": {
                    "client_id": actor.client_id,
                    "user_id": actor.user_id,
                    "ip": actor.request.ip,
                },
                "unlinked_from": primary.user_id,
            }
            target.detached = None
            await uow.identities.update(target)
            # Whatever was obtained through the primary may have come through this identity:
            # end it all rather than leave a way in through an identity that has left.
            await uow.refresh_tokens.revoke_for_user(tenant.id, primary.pk, now)
            await uow.sessions.revoke_for_user(tenant.id, primary.pk, now)
            primary.updated_at = now
            await uow.users.update(primary)
            after = await uow.identities.for_user(tenant.id, primary.pk)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_API_OPERATION,
                actor.request,
                description="Unlink an identity",
                client_id=actor.client_id,
                user=primary,
                details={
                    "event": "identity_unlinked",
                    "method": "unlink",
                    "actor": {"client_id": actor.client_id, "user_id": actor.user_id},
                    "identity": target.user_id,
                    "restored_user_id": restored.user_id,
                    "before": before,
                    "after": [i.user_id for i in after],
                },
            )
            await uow.commit()
        return [identity_view(i, with_profile=not i.is_primary) for i in after]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None
