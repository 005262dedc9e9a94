"""JSON Web Tokens and keys: the only module that imports a JOSE library.

Tokens are RS256 (RFC 7518 §3.3). The algorithm is fixed by the key, never taken from a
token's header: ``none`` and every HMAC algorithm fail before any signature is checked
(RFC 8725 §3.1, §3.2).
"""

from __future__ import annotations

import base64
import calendar
import datetime
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from joserfc import jwt
from joserfc.errors import JoseError as _LibraryError
from joserfc.jwk import KeySet, RSAKey

ALGORITHM = "RS256"
KEY_BITS = 2048


class TokenRejected(Exception):
    """A JWT failed verification. ``reason`` is a stable short code for logs and mapping."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class PrivateKey:
    """A signing key ready to use: its ``kid`` and the loaded RSA key."""

    kid: str
    pem: bytes = field(repr=False)  # a traceback or a log line must not print the private key
    _key: RSAKey = field(repr=False, compare=False)

    @classmethod
    def from_pem(cls, kid: str, pem: bytes) -> PrivateKey:
        key = RSAKey.import_key(pem, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})
        return cls(kid=kid, pem=pem, _key=key)

    @functools.cached_property
    def _signer(self) -> RSAPrivateKey:
        private = self._key.private_key
        if not isinstance(private, RSAPrivateKey):  # from_pem imports a private PEM
            raise TypeError("not an RSA private key")
        return private

    def sign(self, claims: Mapping[str, Any], typ: str = "JWT") -> str:
        """Sign ``claims`` as a compact JWS, RFC 7515 §7.1, with ``kid`` in the header:
        BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(RSASSA-PKCS1-v1_5 SHA-256 of the
        two, RFC 7518 §3.3). Built here rather than by joserfc's ``jwt.encode``, whose header
        registry checks and JSON encoding cost about as much again as the rest of a
        client-credentials token besides the signature (issue 13); ``verify`` below still
        checks every token with joserfc, and tests/protocol checks one against the other."""
        payload = _b64(orjson.dumps(_numeric_dates(claims)))
        signing_input = _header_segment(self.kid, typ) + b"." + payload
        signature = self._signer.sign(signing_input, padding.PKCS1v15(), SHA256())
        return (signing_input + b"." + _b64(signature)).decode("ascii")

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK (RFC 7517 §4) with ``x5t`` left out: we issue no certificates."""
        data = self._key.as_dict(private=False)
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": ALGORITHM,
            "kid": self.kid,
            "n": data["n"],
            "e": data["e"],
        }


def _b64(data: bytes) -> bytes:
    """BASE64URL without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=64)
def _header_segment(kid: str, typ: str) -> bytes:
    return _b64(
        # In joserfc's order, so a token's bytes are what they were before issue 13.
        json.dumps({"typ": typ, "alg": ALGORITHM, "kid": kid}, separators=(",", ":")).encode()
    )


def _numeric_dates(claims: Mapping[str, Any]) -> Mapping[str, Any]:
    """RFC 7519 §2 NumericDate: ``exp``, ``iat`` and ``nbf`` given as datetimes become epoch
    seconds (as joserfc did); orjson would write them as ISO text."""
    if not any(isinstance(claims.get(k), datetime.datetime) for k in ("exp", "iat", "nbf")):
        return claims
    converted = dict(claims)
    for k in ("exp", "iat", "nbf"):
        value = converted.get(k)
        if isinstance(value, datetime.datetime):
            converted[k] = calendar.timegm(value.utctimetuple())
    return converted


def generate_private_pem(bits: int = KEY_BITS) -> bytes:
    """A new RSA private key in PKCS#8 PEM."""
    key = RSAKey.generate_key(bits, private=True)
    pem = key.as_pem(private=True)
    return pem if isinstance(pem, bytes) else pem.encode()


def public_jwk_from_pem(kid: str, pem: bytes) -> dict[str, Any]:
    return PrivateKey.from_pem(kid, pem).public_jwk()


def thumbprint_kid(pem: bytes) -> str:
    """A key id from the RFC 7638 thumbprint, so the same key always gets the same ``kid``."""
    key = RSAKey.import_key(pem)
    return str(key.thumbprint())


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, decoded but not trusted. Raises TokenRejected("malformed")."""
    try:
        head = token.split(".", 2)[0]
        padded = head + "=" * (-len(head) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, IndexError) as exc:
        raise TokenRejected("malformed") from exc
    if not isinstance(value, dict):
        raise TokenRejected("malformed")
    return value


@functools.lru_cache(maxsize=64)
def _public_key(jwk: str) -> RSAKey:
    """A published key, imported once: every verification used to import it again (~0.06 ms).
    The cache key is the whole JWK, so a changed key is a new entry."""
    return RSAKey.import_key(json.loads(jwk))


def verify(
    token: str,
    public_jwks: Iterable[Mapping[str, Any]],
    *,
    issuer: str,
    audience: str | Iterable[str] | None,
    now: int,
    leeway: int = 0,
    require_exp: bool = True,
) -> dict[str, Any]:
    """Verify an RS256 JWT against our own public keys and return its claims.

    RFC 7519 §7.2 with RFC 8725's rules: header ``alg`` must be RS256 and ``kid`` must name one
    of ``public_jwks``; then signature, ``iss`` (exact), ``aud`` (any of ``audience``), ``exp``
    and ``nbf``. ``audience=None`` skips the audience check (the caller checks it itself).
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenRejected("malformed")
    header = unverified_header(token)
    if header.get("alg") != ALGORITHM:
        raise TokenRejected("alg")
    kid = header.get("kid")
    keys = {k["kid"]: k for k in public_jwks}
    if not isinstance(kid, str) or kid not in keys:
        raise TokenRejected("kid")
    try:
        key = _public_key(json.dumps(keys[kid], sort_keys=True))
        decoded = jwt.decode(token, KeySet([key]), algorithms=[ALGORITHM])
    except (_LibraryError, ValueError) as exc:
        raise TokenRejected("signature") from exc
    claims = dict(decoded.claims)
    if claims.get("iss") != issuer:
        raise TokenRejected("iss")
    if audience is not None:
        wanted = {audience} if isinstance(audience, str) else set(audience)
        aud = claims.get("aud")
        have = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
        if not wanted & have:
            raise TokenRejected("aud")
    exp = claims.get("exp")
    if require_exp and not isinstance(exp, int):
        raise TokenRejected("exp")
    if isinstance(exp, int) and now > exp + leeway:
        raise TokenRejected("expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int) and now + leeway < nbf:
        raise TokenRejected("nbf")
    return claims


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: left half of SHA-256 of the token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


#: What an upstream provider may sign its ID tokens with (never ``none`` or HMAC).
UPSTREAM_ALGORITHMS = frozenset({"RS256", "PS256", "ES256"})


def verify_upstream(
    token: str,
    jwks: Iterable[Mapping[str, Any]],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int,
    leeway: int = 60,
) -> dict[str, Any]:
    """OIDC Core §3.1.3.7 for an upstream provider's ID token: an asymmetric ``alg``, a ``kid``
    in its JWKS, its pinned issuer, ``aud`` containing our client id (with ``azp`` when several),
    ``exp``, and the ``nonce`` we sent. Raises TokenRejected("kid") when the key is unknown, so
    the caller can refetch the JWKS once."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenRejected("malformed")
    header = unverified_header(token)
    alg = header.get("alg")
    if alg not in UPSTREAM_ALGORITHMS:
        raise TokenRejected("alg")
    keys = [dict(k) for k in jwks if k.get("use", "sig") == "sig"]
    kid = header.get("kid")
    candidates = [k for k in keys if kid is None or k.get("kid") == kid]
    if not candidates:
        raise TokenRejected("kid")
    try:
        keyset = KeySet.import_key_set({"keys": candidates})
        decoded = jwt.decode(token, keyset, algorithms=[str(alg)])
    except (_LibraryError, ValueError, KeyError) as exc:
        raise TokenRejected("signature") from exc
    claims = dict(decoded.claims)
    if claims.get("iss") != issuer:
        raise TokenRejected("iss")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise TokenRejected("aud")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise TokenRejected("azp")
    exp = claims.get("exp")
    if not isinstance(exp, int) or now > exp + leeway:
        raise TokenRejected("expired")
    if claims.get("nonce") != nonce:
        raise TokenRejected("nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenRejected("sub")
    return claims
