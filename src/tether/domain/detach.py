"""What a link and an unlink do besides moving identities: giving a detached identity back its
user, and telling the person.

Both run inside the caller's unit of work, so the restored user, the mails (the outbox is a
table) and the log event commit with the link or unlink or not at all (DESIGN.md invariant 4;
"every link and unlink, by any surface, is ... mailed to the person").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tether.domain.errors import Conflict
from tether.domain.ids import new_id
from tether.domain.mail import MailService
from tether.domain.models import Identity, Tenant, User
from tether.domain.ports import UnitOfWork

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

#: The columns of an identity that ``restore`` changes (its profile stays as it is).
RESTORED_FIELDS = (
    "user_pk",
    "is_primary",
    "linked_at",
    "link_reason",
    "detached",
    "linked_unverified",
)


async def restore(
    uow: UnitOfWork,
    tenant: Tenant,
    target: Identity,
    now: datetime,
    reason: dict[str, Any],
) -> User:
    """Make ``target`` (a secondary identity) a user of its own again, with its old user_id, its
    profile and (unlike Auth0) its own metadata, as they were when it was linked."""
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
        # Tokens with this sub from before it was linked stay dead (finding 8's check).
        tokens_valid_after=now,
    )
    # One statement: the insert itself finds out whether the user_id is taken.
    if not await uow.users.add_unless_taken(restored):
        raise Conflict("A user with this identity's id exists already.", code="user_exists")
    target.user_pk = restored.pk
    target.is_primary = True
    target.linked_at = now
    target.link_reason = reason
    target.detached = None
    # A primary identity is never "linked while unverified": the mark belongs to the link.
    target.linked_unverified = False
    await uow.identities.update_fields(target, RESTORED_FIELDS)
    return restored


def label(identity: Identity) -> str:
    email = identity.profile_data.get("email")
    return f"{identity.connection_name} ({email})" if email else identity.user_id


def when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


async def tell(
    mail: MailService,
    uow: UnitOfWork,
    tenant: Tenant,
    to: list[Any],
    subject: str,
    body: str,
) -> None:
    """Queue one mail per distinct address (both, when a link joins two addresses), in one
    statement."""
    seen: set[str] = set()
    addresses = []
    for address in to:
        if isinstance(address, str) and "@" in address and address.lower() not in seen:
            seen.add(address.lower())
            addresses.append(address)
    await mail.enqueue_all(uow.outbox, tenant, addresses, subject, body)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None
