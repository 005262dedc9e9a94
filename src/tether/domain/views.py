"""Auth0's user object (auth0-wire.md §2.1), built from a User and its identities.

The CLI, the Management API and /userinfo all show users this one way.
"""

from __future__ import annotations

import logging
from typing import Any

from tether.domain.models import Identity, User, iso8601
from tether.protocol import json_text

log = logging.getLogger("tether.views")


def identity_view(identity: Identity, *, with_profile: bool) -> dict[str, Any]:
    """An ``identities[]`` item; non-primary identities carry ``profileData``."""
    item: dict[str, Any] = {
        "connection": identity.connection_name,
        "provider": identity.provider,
        "user_id": identity.subject,
        "isSocial": identity.is_social,
    }
    if with_profile and identity.profile_data:
        item["profileData"] = dict(identity.profile_data)
    return item


def user_view(user: User) -> dict[str, Any]:
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
        "identities": [identity_view(i, with_profile=not i.is_primary) for i in primary_first],
        "user_metadata": dict(user.user_metadata),
        "app_metadata": dict(user.app_metadata),
        "last_login": iso8601(user.last_login),
        "last_ip": user.last_ip,
        "logins_count": user.logins_count,
    }
    if user.blocked:
        view["blocked"] = True
    if json_text.has_non_finite(view):
        # Refused on the way in, but a row written some other way (an old version, a direct SQL
        # edit) must not make every list holding it fail to render: show it with nulls instead.
        log.warning("user %s holds a non-finite number; shown as null", user.user_id)
        view = json_text.finite_or_null(view)
    return {k: v for k, v in view.items() if v is not None}
