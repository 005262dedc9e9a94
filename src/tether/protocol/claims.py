"""Claims of the tokens Tether issues.

Access tokens follow Auth0's shape (iss, sub, aud, iat, exp, scope, azp, gty) which is close to
RFC 9068. ID tokens follow OIDC Core §2 and §5.1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tether.protocol.scopes import OPENID, claims_for_scopes


def access_token_claims(
    *,
    issuer: str,
    subject: str,
    audience: str | list[str],
    client_id: str,
    scopes: Iterable[str],
    issued_at: int,
    lifetime: int,
    gty: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Claims for a JWT access token (RFC 9068 §2.2, Auth0's ``azp``/``gty``)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "scope": " ".join(scopes),
        "azp": client_id,
    }
    if gty:
        claims["gty"] = gty
    if extra:
        claims.update(extra)
    return claims


def access_token_audience(
    issuer: str, api_audience: str | None, scopes: Iterable[str]
) -> str | list[str]:
    """Auth0 adds ``<issuer>userinfo`` to ``aud`` when ``openid`` is granted, so /userinfo accepts it."""
    userinfo = issuer + "userinfo"
    if api_audience is None:
        return userinfo
    if OPENID in scopes and api_audience != userinfo:
        return [api_audience, userinfo]
    return api_audience


def user_claims(profile: Mapping[str, Any], scopes: Iterable[str]) -> dict[str, Any]:
    """The profile claims the granted scopes release (OIDC Core §5.4), absent values left out."""
    allowed = claims_for_scopes(scopes)
    return {k: v for k, v in profile.items() if k in allowed and v is not None}


def id_token_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    issued_at: int,
    lifetime: int,
    profile: Mapping[str, Any],
    scopes: Iterable[str],
    nonce: str | None = None,
    auth_time: int | None = None,
    session_id: str | None = None,
    at_hash: str | None = None,
) -> dict[str, Any]:
    """OIDC Core §2: the ID token's claims, with the profile claims the scopes release."""
    claims: dict[str, Any] = user_claims(profile, scopes)
    claims.update(
        {
            "iss": issuer,
            "sub": subject,
            "aud": client_id,
            "azp": client_id,
            "iat": issued_at,
            "exp": issued_at + lifetime,
        }
    )
    if nonce:
        claims["nonce"] = nonce
    if auth_time is not None:
        claims["auth_time"] = auth_time
    if session_id:
        claims["sid"] = session_id
    if at_hash:
        claims["at_hash"] = at_hash
    return claims
