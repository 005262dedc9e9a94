"""Dashboard admins: a role per (tenant, user), given with ``tether admins add EMAIL``.

Only admins get into ``/dashboard``. The role belongs to the user row: when the user is deleted,
or linked into another user as a secondary (its row goes), the role goes with it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.domain.account_records import Admin
from tether.domain.actor import Actor, record_change
from tether.domain.audit import Audit
from tether.domain.clock import Clock
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.models import Tenant, User

if TYPE_CHECKING:
    from tether.domain.ports import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class AdminUser:
    admin: Admin
    user: User


class AdminService:
    def __init__(self, uow: UnitOfWorkFactory, audit: Audit, clock: Clock):
        self._uow = uow
        self._audit = audit
        self._clock = clock

    async def find_user(self, tenant: Tenant, who: str) -> User:
        """The user an email address (exactly one user) or a user_id names."""
        async with self._uow(read_only=True) as uow:
            return await _named(uow, tenant, who)

    async def find_candidate(self, tenant: Tenant, who: str) -> User:
        """The user who may be made an admin (see ``_candidate``)."""
        async with self._uow(read_only=True) as uow:
            return await _candidate(uow, tenant, who)

    async def add(self, tenant: Tenant, who: str, actor: Actor) -> User:
        """Make a user an admin; the one way an admin is made (CLI, dashboard, tests).

        The check and the grant are one transaction, with the user's row locked: an email
        change (which makes the address unverified again) cannot slip in between them."""
        async with self._uow() as uow:
            user = await _candidate(uow, tenant, who)
            if not await uow.users.lock(tenant.id, [user.pk]):
                raise Conflict("The user changed during the request; try again.", code="conflict")
            user = await _candidate(uow, tenant, who)
            if await uow.admins.get(tenant.id, user.pk) is not None:
                raise Conflict(f"{user.email or user.user_id} is an admin already.")
            await uow.admins.add(Admin(tenant.id, user.pk, self._clock.now()))
            await record_change(
                self._audit,
                uow,
                tenant.id,
                actor,
                "Add a dashboard admin",
                {
                    "event": "admin_added",
                    "actor": actor.who,
                    "named_by": "email" if _is_email(who.strip()) else "user_id",
                    "email_verified": user.email_verified,
                },
                user=user,
            )
            await uow.commit()
        return user

    async def remove(self, tenant: Tenant, who: str, actor: Actor) -> User:
        user = await self.find_user(tenant, who)
        async with self._uow() as uow:
            if not await uow.admins.remove(tenant.id, user.pk):
                raise NotFound(
                    f"{user.email or user.user_id} is not an admin.", code="inexistent_admin"
                )
            await record_change(
                self._audit,
                uow,
                tenant.id,
                actor,
                "Remove a dashboard admin",
                {"event": "admin_removed", "actor": actor.who},
                user=user,
            )
            await uow.commit()
        return user

    async def list(self, tenant: Tenant) -> builtins.list[AdminUser]:
        """The tenant's admins with their users (the dashboard shows whether each one's email
        is verified: an admin named by user_id may not have proved their address)."""
        async with self._uow(read_only=True) as uow:
            out = []
            for admin in await uow.admins.list(tenant.id):
                user = await uow.users.by_pk(tenant.id, admin.user_pk)
                if user is not None:
                    out.append(AdminUser(admin, user))
        return out

    async def is_admin(self, tenant: Tenant, user_pk: str) -> bool:
        async with self._uow(read_only=True) as uow:
            return await uow.admins.get(tenant.id, user_pk) is not None

    async def record(
        self,
        tenant: Tenant,
        actor: Actor,
        description: str,
        details: dict[str, Any],
    ) -> None:
        """A log event for a dashboard action whose service writes none (key rotation)."""
        async with self._uow() as uow:
            await record_change(
                self._audit,
                uow,
                tenant.id,
                actor,
                description,
                {**details, "actor": actor.who},
            )
            await uow.commit()


async def _named(uow: UnitOfWork, tenant: Tenant, who: str) -> User:
    who = who.strip()
    if not who:
        raise InvalidInput("Name a user by email address or user_id.")
    if _is_email(who):
        found = await uow.users.by_email(tenant.id, who.lower())
        if len(found) > 1:
            raise InvalidInput(
                f"Several users have the email {who} ({_ids(found)}): name one by its user_id."
            )
        user = found[0] if found else None
    else:
        user = await uow.users.get(tenant.id, who)
    if user is None:
        raise NotFound(f"No user {who} in tenant {tenant.name}.", code="inexistent_user")
    return user


async def _candidate(uow: UnitOfWork, tenant: Tenant, who: str) -> User:
    """The user who may be made an admin: named by user_id (the operator's explicit choice),
    or by an email address that exactly one user has *verified*.

    Anyone can sign up with any address, so an unverified address proves nothing about who
    holds the account (pre-account takeover, Sudhodanan & Paverd 2022): by email, unverified
    users never count, and an address two verified users share names nobody.
    """
    who = who.strip()
    if not _is_email(who):
        return await _named(uow, tenant, who)
    found = await uow.users.by_email(tenant.id, who.lower())
    verified = [u for u in found if u.email_verified]
    if len(verified) == 1:
        return verified[0]
    if len(verified) > 1:
        raise InvalidInput(
            f"Several users have verified the email {who} ({_ids(verified)}): "
            "name one by its user_id."
        )
    if found:
        raise InvalidInput(
            f"No user has verified the email {who} (unverified: {_ids(found)}). "
            "Have the person verify their email first, or name the user by its user_id "
            "if you are sure it is theirs."
        )
    raise NotFound(f"No user {who} in tenant {tenant.name}.", code="inexistent_user")


def _is_email(who: str) -> bool:
    return "@" in who and "|" not in who


def _ids(users: builtins.list[User]) -> str:
    return ", ".join(u.user_id for u in users)
