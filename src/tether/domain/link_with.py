"""User-initiated linking's proof: the secondary account's ID token (``link_with``).

Auth0's checks, each with its own message (auth0-wire.md §1.1): RS256, this tenant's issuer and
keys, a ``sub`` that names an identity, and an ``aud`` that matches the calling token's ``azp``
(OIDC Core §3.1.3.7 for several audiences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.domain.clock import Clock, epoch
from tether.domain.errors import DomainError, ErrorKind, InvalidInput
from tether.domain.keys import KeyService
from tether.domain.models import Tenant
from tether.protocol import jose


class LinkError(InvalidInput):
    """A 400 with Auth0's message for the linking endpoints."""

    code = "invalid_body"


class LinkUnavailable(DomainError):
    """Linking needs a user the caller cannot see (another tenant, or gone)."""

    code = "inexistent_user"
    kind = ErrorKind.NOT_FOUND


@dataclass(frozen=True)
class LinkWith:
    """User-initiated: the secondary account's ID token. ``caller_azp`` is the calling token's
    ``azp``; None for a machine token with ``update:users`` (which may name any application)."""

    id_token: str
    caller_azp: str | None


async def verify_link_with(
    keys: KeyService, clock: Clock, tenant: Tenant, spec: LinkWith
) -> tuple[str, dict[str, Any]]:
    """Auth0's checks of ``link_with``, each with its own message (auth0-wire.md §1.1)."""
    keyset = await keys.keyset(tenant)
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
            now=epoch(clock.now()),
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
    if len(audiences) > 1 and spec.caller_azp is not None and claims.get("azp") != spec.caller_azp:
        # OIDC Core §3.1.3.7: with several audiences, azp names the party it was issued to.
        raise LinkError("JWT (link_with) contains an invalid aud claim.")
    return sub, claims
