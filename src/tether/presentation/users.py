"""Auth0's user object (auth0-wire.md §2.1), built from a User and its identities.

The Management API (validated against ``web/management/schemas.py`` ``User``), the dashboard's
raw JSON and the CLI all show users this one way. The export job writes Auth0's export file
format with its own writer (``domain/jobs/exports.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tether.domain.models import Identity, User, iso8601
from tether.protocol import json_text

log = logging.getLogger("tether.views")


def identity_json(identity: Identity) -> dict[str, Any]:
    """An ``identities[]`` item (§2.1); a non-primary identity carries its ``profileData``."""
    item: dict[str, Any] = {
        "connection": identity.connection_name,
        "provider": identity.provider,
        "user_id": identity.subject,
        "isSocial": identity.is_social,
    }
    if not identity.is_primary and identity.profile_data:
        item["profileData"] = dict(identity.profile_data)
    return item


def identities_json(identities: Iterable[Identity]) -> list[dict[str, Any]]:
    """The identities in the order given (linking answers them in its own order, §1.1)."""
    return [identity_json(i) for i in identities]


def user_json(user: User) -> dict[str, Any]:
    """The user object: the primary identity first, absent values left out, ``blocked`` only
    when true (as Auth0 shows it)."""
    primary_first = sorted(user.identities, key=lambda i: not i.is_primary)
    view: dict[str, Any] = {
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "name": user.name or user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "nickname": user.nickname or (user.email.split("@")[0] if user.email else None),
        "picture": user.picture,
        "created_at": iso8601(user.created_at),
        "updated_at": iso8601(user.updated_at),
        "identities": identities_json(primary_first),
        "user_metadata": dict(user.user_metadata),
        "app_metadata": dict(user.app_metadata),
        "last_login": iso8601(user.last_login),
        "last_ip": user.last_ip,
        "logins_count": user.logins_count,
    }
    if user.blocked:
        view["blocked"] = True
    # Only the JSON columns (metadata, linked profiles) can hold a float at all: walk those,
    # not the whole view (a few percent of a Management read's CPU).
    free_form = (user.user_metadata, user.app_metadata, [i.profile_data for i in user.identities])
    if json_text.has_non_finite(free_form):
        # Refused on the way in, but a row written some other way (an old version, a direct SQL
        # edit) must not make every list holding it fail to render: show it with nulls instead.
        log.warning("user %s holds a non-finite number; shown as null", user.user_id)
        view = json_text.finite_or_null(view)
    return {k: v for k, v in view.items() if v is not None}
