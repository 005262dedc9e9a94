"""``LinkingService``: linking and unlinking identities (Auth0's ``POST`` / ``DELETE
/api/v2/users/{id}/identities``), each in one unit of work; what a link changes is ``plan.py``'s.

The invariants of DESIGN.md hold after every call: every identity belongs to exactly one user,
every user has exactly one primary identity, (connection, subject) is unique, and a link or
unlink commits together with its log event or not at all. Both users are locked in a fixed order
(their primary keys), so two links racing for the same secondary end with one 201 and one 409.

Beyond Auth0: the secondary's root profile and metadata are kept on its identity (``detached``)
and given back when it is unlinked; every link records who did it, how, and with which proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.domain.access import UserAccess, accepts_iat
from tether.domain.actor import Actor
from tether.domain.audit import Audit, LogType
from tether.domain.clock import Clock
from tether.domain.detach import label, restore, tell, when
from tether.domain.errors import Conflict, NotFound
from tether.domain.keys import KeyService
from tether.domain.link_with import LinkError, LinkWith, verify_link_with
from tether.domain.linking.plan import LinkIdentity, plan_link, snapshot, unlink_reason
from tether.domain.mail import MailService
from tether.domain.models import Identity, Session, Tenant, User
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.sessions import SessionService, StartedSession


@dataclass(frozen=True)
class _Proven:
    """How a link is proven: its ``method`` and ``proof`` for the record; for ``link_with``, the
    secondary named by the verified ID token and the token's claims."""

    method: str
    proof: dict[str, Any]
    secondary_id: str = ""
    claims: dict[str, Any] | None = None


class LinkingService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        keys: KeyService,
        audit: Audit,
        mail: MailService,
        clock: Clock,
        access: UserAccess,
        sessions: SessionService,
    ):
        self._uow = uow
        self._keys = keys
        self._audit = audit
        self._mail = mail
        self._clock = clock
        self._access = access
        self._sessions = sessions

    # -- resolving the secondary ----------------------------------------------------

    async def _identity_owner(
        self, uow: UnitOfWork, tenant: Tenant, spec: LinkIdentity
    ) -> tuple[str, Identity]:
        """The secondary's user_id from provider/user_id, and the identity it names."""
        subject = str(spec.user_id)
        if subject.startswith(spec.provider + "|"):
            subject = subject[len(spec.provider) + 1 :]
        if not subject:
            raise LinkError("Payload validation error: 'user_id' must not be empty.")
        # One statement for the identities this provider/user id names, on any connection.
        candidates = [
            identity
            for identity in await uow.identities.with_subject(tenant.id, spec.provider, subject)
            if spec.connection_id is None or identity.connection_id == spec.connection_id
        ]
        if (
            spec.connection_id is not None
            and not candidates
            and not any(c.id == spec.connection_id for c in await uow.connections.list(tenant.id))
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
    ) -> list[Identity]:
        """Move the secondary user's identities to the primary; the secondary user stops
        existing. Returns the primary's identities (web shapes Auth0's 201 body of them)."""
        proven = await self._proof_of(tenant, spec)
        async with self._uow() as uow:
            _, after = await self._link(uow, tenant, primary_id, spec, actor, proven)
            await uow.commit()
        return list(after)

    async def link_and_sign_in(
        self,
        tenant: Tenant,
        primary_id: str,
        spec: LinkWith,
        actor: Actor,
        amr: list[str],
    ) -> tuple[User, StartedSession]:
        """The Linked accounts page's link: the browser's session of the account just linked
        went with its user row, so a new session as the joined user starts in the link's own
        transaction (one commit: never a link without the session, nor the reverse)."""
        proven = await self._proof_of(tenant, spec)
        async with self._uow() as uow:
            # The joined user as the link left it (its identities included), not read again.
            joined, _ = await self._link(uow, tenant, primary_id, spec, actor, proven)
            started = await self._sessions.start(uow.sessions, tenant, joined, amr)
            await uow.commit()
        return joined, started

    async def _proof_of(self, tenant: Tenant, spec: LinkWith | LinkIdentity) -> _Proven:
        """How the link is proven, checked before any transaction opens (a ``link_with`` ID
        token's signature, audience and freshness)."""
        if isinstance(spec, LinkWith):
            secondary_id, claims = await verify_link_with(self._keys, self._clock, tenant, spec)
            proof = {
                "id_token": {
                    "aud": claims.get("aud"),
                    "iat": claims.get("iat"),
                    "auth_time": claims.get("auth_time"),
                }
            }
            return _Proven("link_with", proof, secondary_id, claims)
        proof = spec.proof or {"provider": spec.provider, "connection_id": spec.connection_id}
        return _Proven(spec.method, proof)

    async def _link(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        primary_id: str,
        spec: LinkWith | LinkIdentity,
        actor: Actor,
        proven: _Proven,
    ) -> tuple[User, list[Identity]]:
        """Load and lock both users, check the rules, apply ``plan_link``'s plan, log and mail,
        in ``uow`` (the caller commits). Returns the primary and its identities after."""
        now = self._clock.now()
        secondary_id = proven.secondary_id
        if isinstance(spec, LinkIdentity):
            secondary_id, _ = await self._identity_owner(uow, tenant, spec)
        # Both users in one read, under their locks (SQLite: the write lock is held from the
        # transaction's first statement; PostgreSQL: SELECT ... FOR UPDATE in primary-key
        # order, then the read): what we decide on is what we change, with no second read.
        users = await uow.users.for_change(
            tenant.id, list(dict.fromkeys([primary_id, secondary_id]))
        )
        primary = users.get(primary_id)
        if primary is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        if secondary_id == primary.user_id:
            raise LinkError("Main identity and the new one are the same.")
        if any(i.user_id == secondary_id for i in primary.identities):
            raise Conflict("Specified identity already exists.", code="identity_conflict")
        secondary = users.get(secondary_id)
        if secondary is None:
            if isinstance(spec, LinkIdentity) or await self._identity_exists(
                uow, tenant, secondary_id
            ):
                # The identity exists but already belongs to another user (a link that raced
                # this one for it committed first).
                raise Conflict("Specified identity already exists.", code="identity_conflict")
            raise LinkError("Provided secondary account not found.")
        if secondary.blocked:
            raise LinkError("Unable to link with the secondary account.")
        if proven.claims is not None and not _proof_still_good(proven.claims, secondary):
            # The proof was minted before the secondary's password changed, it was blocked
            # and unblocked, or an identity left it: a stolen ID token ended there
            # (OWASP ASVS 5.0 7.4.1, DESIGN.md "tokens valid after").
            raise LinkError("Invalid token (link_with).")
        if isinstance(spec, LinkWith) and spec.caller_azp is not None:
            _check_verified(tenant, primary)
        plan = plan_link(
            tenant,
            primary,
            secondary,
            method=proven.method,
            proof=proven.proof,
            actor=actor,
            now=now,
        )
        # One UPDATE per identity moves it, drops the secondary's primary mark and records the
        # link's reason; each is written only while it still belongs to the secondary.
        for before, moved in zip(secondary.identities, plan.moved, strict=True):
            names = MOVED_PRIMARY_FIELDS if before.is_primary else MOVED_FIELDS
            if not await uow.identities.update_fields(moved, names, owner=secondary.pk):
                raise Conflict("Specified identity already exists.", code="identity_conflict")
        changes: dict[str, Any] = {"updated_at": now}
        if plan.user_metadata != primary.user_metadata:
            changes["user_metadata"] = plan.user_metadata
        if plan.app_metadata != primary.app_metadata:
            changes["app_metadata"] = plan.app_metadata
        await uow.users.update_fields(tenant.id, primary.pk, changes)
        primary.user_metadata = plan.user_metadata
        primary.app_metadata = plan.app_metadata
        primary.updated_at = now
        # The secondary user's sessions, codes and refresh tokens go with its row.
        await uow.users.delete_row(tenant.id, secondary.pk)
        # The answer from what was read and written, not read again: the primary's identities
        # in the order it was read, then the moved ones (the latest linked_at).
        after = [*primary.identities, *plan.moved]
        primary.identities = after
        await self._audit.record(
            uow,
            tenant.id,
            LogType.SUCCESS_API_OPERATION,
            actor.request,
            description="Link an identity",
            client_id=actor.client_id,
            user=primary,
            details=plan.log_details([i.user_id for i in after]),
        )
        await tell(
            self._mail,
            uow,
            tenant,
            [primary.email, secondary.email],
            "An account was linked to your sign-in",
            f"{secondary.email or secondary.user_id} was linked to your account "
            f"{primary.email or primary.user_id} on {when(now)} {_by(actor, primary)}.\n\n"
            "Signing in with either now signs you in to the same account. If this wasn't "
            "you, sign in, unlink it on your Linked accounts page, and change your password.",
        )
        return primary, after

    async def _identity_exists(self, uow: UnitOfWork, tenant: Tenant, user_id: str) -> bool:
        provider, _, subject = user_id.partition("|")
        return bool(await uow.identities.with_subject(tenant.id, provider, subject))

    # -- unlink ---------------------------------------------------------------------------

    async def unlink(
        self, tenant: Tenant, primary_id: str, provider: str, user_id: str, actor: Actor
    ) -> list[Identity]:
        """Detach one identity: it becomes a user again with its old user_id, its profile and
        (unlike Auth0) its own metadata. Returns the primary's remaining identities."""
        async with self._uow() as uow:
            _, after = await self._unlink(uow, tenant, primary_id, provider, user_id, actor)
            await uow.commit()
        return list(after)

    async def unlink_and_continue(
        self,
        tenant: Tenant,
        primary_id: str,
        provider: str,
        user_id: str,
        actor: Actor,
        browser_session: Session,
    ) -> tuple[User, StartedSession]:
        """The Linked accounts page's unlink: the unlink ends every session of the user, so the
        browser goes on with a new one that keeps its old sign-in time (the re-authentication
        window does not grow), started in the unlink's own transaction."""
        async with self._uow() as uow:
            # The user as the unlink left it (its identities included), not read again.
            user, _ = await self._unlink(uow, tenant, primary_id, provider, user_id, actor)
            started = await self._sessions.resume(uow.sessions, user, browser_session)
            await uow.commit()
        return user, started

    async def _unlink(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        primary_id: str,
        provider: str,
        user_id: str,
        actor: Actor,
    ) -> tuple[User, list[Identity]]:
        """Unlink in ``uow`` (the caller commits): restore the identity as a user of its own,
        end the primary's sessions and refresh tokens, log and mail. Returns the primary and its
        remaining identities."""
        subject = user_id[len(provider) + 1 :] if user_id.startswith(provider + "|") else user_id
        now = self._clock.now()
        # Read under the row's lock (as ``_link``): an unlink racing this one for the same
        # identity then finds it gone (404, not 409).
        primary = (await uow.users.for_change(tenant.id, [primary_id])).get(primary_id)
        if primary is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        target = next(
            (i for i in primary.identities if i.provider == provider and i.subject == subject),
            None,
        )
        if target is None:
            raise NotFound("The identity is not linked to this user.", code="inexistent_identity")
        if target.is_primary:
            raise LinkError("Main identity cannot be removed.")
        before = snapshot(primary)
        restored = await restore(uow, tenant, target, now, unlink_reason(actor, primary, now))
        # Whatever was obtained through the primary may have come through this identity:
        # end it all (sessions, refresh tokens, older tokens) rather than leave a way in
        # through an identity that has left. The restored user's tokens from before its
        # link (same sub) end too: its row was made with tokens_valid_after = now.
        await uow.refresh_tokens.revoke_for_user(tenant.id, primary.pk, now)
        await uow.sessions.revoke_for_user(tenant.id, primary.pk, now)
        # The primary's access tokens are NOT cut off here: an Auth0 app re-reads the user
        # with the very token that unlinked (the seed tutorial does), and a token does not
        # say which identity it came through. Ending only those that came through the
        # unlinked identity needs per-identity sessions (docs/security.md, differences).
        self._access.note_after_commit(uow, tenant.id, restored.user_id, now)
        primary.updated_at = now
        await uow.users.update_fields(tenant.id, primary.pk, {"updated_at": now})
        after = [i for i in primary.identities if i.id != target.id]
        primary.identities = after
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
        await tell(
            self._mail,
            uow,
            tenant,
            [primary.email, restored.email],
            "An account was unlinked from your sign-in",
            f"{label(target)} was unlinked from your account "
            f"{primary.email or primary.user_id} on {when(now)} {_by(actor, primary)}.\n\n"
            "It is now a separate account. If this wasn't you, sign in, review your linked "
            "accounts, and change your password.",
        )
        return primary, after


#: The columns of an identity a link changes: its owner and its link record; the secondary's
#: primary identity also takes the secondary's profile and what is given back on unlink.
MOVED_FIELDS = ("user_pk", "is_primary", "linked_at", "link_reason", "linked_unverified")
MOVED_PRIMARY_FIELDS = (*MOVED_FIELDS, "profile_data", "detached")


def _by(actor: Actor, primary: User) -> str:
    if actor.user_id == primary.user_id:
        return "by you (someone signed in to your account)"
    if actor.user_id is not None:
        return f"by an administrator ({actor.user_id})"
    return f"by an administrator (application {actor.client_id})"


def require_verified_email(tenant: Tenant) -> bool:
    """Tenant setting ``linking.require_verified_email`` (default false, Auth0's behaviour)."""
    return tenant.settings.get("linking", {}).get("require_verified_email") is True


def _check_verified(tenant: Tenant, primary: User) -> None:
    """A person (not an administrator) may link into an account whose email nobody has proven
    only when the tenant allows it: the account may be an attacker's pre-registration."""
    if require_verified_email(tenant) and not primary.email_verified:
        raise LinkError(
            "The account's email address is not verified: verify it before linking another "
            "account to it (tenant setting linking.require_verified_email).",
            code="unverified_email",
        )


def _proof_still_good(claims: dict[str, Any], secondary: User) -> bool:
    """Whether a ``link_with`` ID token was issued after the secondary's "tokens valid after"
    instant (a token without a whole-number ``iat`` counts as issued at the epoch)."""
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        iat = 0
    return accepts_iat(iat, secondary.tokens_valid_after)
