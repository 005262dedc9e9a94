"""What a link changes, decided before anything is written: a pure function of the loaded rows.

``plan_link`` takes the two users as the locked transaction read them and returns a ``LinkPlan``:
the secondary's identities as they will be stored (moved to the primary, the link's reason on
each, the secondary's profile and metadata kept on its primary identity), the primary's metadata
after the tenant's ``linking.metadata_merge``, and the log event's details. ``LinkingService``
applies it in its one unit of work; the tests in tests/linking/test_plan.py check it without a
database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tether.domain.actor import Actor
from tether.domain.detach import PROFILE_FIELDS
from tether.domain.models import Identity, Tenant, User, iso8601

MERGE_DISCARD = "discard"
MERGE_MERGE = "merge"


@dataclass(frozen=True)
class LinkIdentity:
    """Server-side: the secondary user named by provider and user id (with or without prefix)."""

    provider: str
    user_id: str
    connection_id: str | None = None
    #: Recorded as the link's ``method`` and ``proof`` (the link prompt at sign-in records the
    #: two sign-ins it rests on); an administrator's link leaves them to the defaults.
    method: str = "server_side"
    proof: dict[str, Any] | None = None


@dataclass(frozen=True)
class LinkPlan:
    """A link, decided: what ``LinkingService.link`` writes, and what it logs."""

    #: The secondary's identities as they will be stored, owned by the primary.
    moved: list[Identity]
    #: The primary's metadata after the merge (unchanged under ``metadata_merge: discard``).
    user_metadata: dict[str, Any]
    app_metadata: dict[str, Any]
    #: Whether the primary's email was unverified at the link (recorded on each moved identity).
    unverified: bool
    #: The log event's details but ``after``, which the service reads once the move is written.
    details: dict[str, Any]

    def log_details(self, after: list[str]) -> dict[str, Any]:
        return {**self.details, "after": after}


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


def snapshot(user: User) -> list[str]:
    """The user's identities as the log names them (``provider|subject``)."""
    return [i.user_id for i in user.identities]


def actor_record(actor: Actor) -> dict[str, Any]:
    """Who did it, as a link reason and its log event record it."""
    return {"client_id": actor.client_id, "user_id": actor.user_id, "ip": actor.request.ip}


def plan_link(
    tenant: Tenant,
    primary: User,
    secondary: User,
    *,
    method: str,
    proof: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> LinkPlan:
    """Decide a link of ``secondary`` into ``primary`` (both as read under their locks)."""
    # Recorded on each moved identity: if the mailbox owner later proves an address nobody had
    # verified, what was linked meanwhile is detached (pre-account takeover, "trojan
    # identifier"; docs/security.md).
    unverified = not primary.email_verified
    reason = {
        "at": iso8601(now),
        "method": method,
        "primary_email_verified": not unverified,
        "actor": actor_record(actor),
        "proof": proof,
        "secondary_user_id": secondary.user_id,
    }
    kept_profile = {
        f: getattr(secondary, f) for f in PROFILE_FIELDS if getattr(secondary, f) is not None
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
        "identities": snapshot(secondary),
    }
    moved = []
    for identity in secondary.identities:
        changed = replace(
            identity,
            user_pk=primary.pk,
            linked_at=now,
            link_reason=reason,
            linked_unverified=unverified,
        )
        if identity.is_primary:
            # The secondary user's row goes: its profile and metadata stay on its identity, to
            # be given back if it is ever unlinked.
            changed = replace(
                changed,
                is_primary=False,
                profile_data={**identity.profile_data, **kept_profile},
                detached=detached,
            )
        moved.append(changed)
    user_metadata, app_metadata = primary.user_metadata, primary.app_metadata
    if str(tenant.settings.get("linking", {}).get("metadata_merge", MERGE_DISCARD)) == MERGE_MERGE:
        user_metadata = merge_metadata(primary.user_metadata, secondary.user_metadata)
        app_metadata = merge_metadata(primary.app_metadata, secondary.app_metadata)
    return LinkPlan(
        moved=moved,
        user_metadata=user_metadata,
        app_metadata=app_metadata,
        unverified=unverified,
        details={
            "event": "identity_linked",
            "method": method,
            "primary_email_verified": not unverified,
            "actor": reason["actor"],
            "proof": proof,
            "secondary_user_id": secondary.user_id,
            "before": snapshot(primary),
        },
    )


def unlink_reason(actor: Actor, primary: User, now: datetime) -> dict[str, Any]:
    """The reason recorded on a user given back by an unlink."""
    return {
        "at": iso8601(now),
        "method": "unlink",
        "actor": actor_record(actor),
        "unlinked_from": primary.user_id,
    }
