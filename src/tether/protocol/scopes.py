"""Scope strings (RFC 6749 §3.3) and the OIDC claims each standard scope releases (OIDC Core §5.4)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tether.protocol.errors import InvalidScope

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"

#: OIDC Core §5.4: the claims each scope asks for.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
}

OIDC_SCOPES = frozenset({OPENID, OFFLINE_ACCESS, *SCOPE_CLAIMS})

#: A character outside RFC 6749 §3.3's scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
_NOT_SCOPE_TOKEN = re.compile(r"[^\x21\x23-\x5B\x5D-\x7E]")


def parse_scope(value: str | None) -> list[str]:
    """Split a scope string into unique tokens, order kept.

    RFC 6749 §3.3: scope tokens are ``%x21 / %x23-5B / %x5D-7E`` separated by spaces.
    """
    if not value:
        return []
    seen: dict[str, None] = {}
    for token in value.split(" "):
        if not token:
            continue
        if _NOT_SCOPE_TOKEN.search(token):
            raise InvalidScope("The scope parameter has characters that are not allowed.")
        seen.setdefault(token, None)
    return list(seen)


def join_scope(scopes: Iterable[str]) -> str:
    return " ".join(scopes)


def claims_for_scopes(scopes: Iterable[str]) -> set[str]:
    """The user claims released by the given scopes, ``sub`` always included."""
    claims = {"sub"}
    for scope in scopes:
        claims.update(SCOPE_CLAIMS.get(scope, ()))
    return claims
