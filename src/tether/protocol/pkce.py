"""Proof Key for Code Exchange (RFC 7636). Only S256: ``plain`` hides nothing (RFC 9700 §2.1.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from tether.protocol.errors import InvalidGrant, InvalidRequest

#: RFC 7636 §4.1 / §4.2: 43-128 characters of [A-Z a-z 0-9 - . _ ~].
_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def check_challenge(challenge: str | None, method: str | None) -> tuple[str, str] | None:
    """Validate the authorization request's PKCE parameters (RFC 7636 §4.3)."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method was sent without a code_challenge.")
        return None
    method = method or "plain"
    if method != "S256":
        raise InvalidRequest("Only code_challenge_method=S256 is supported.")
    if not _VALUE.match(challenge):
        raise InvalidRequest("code_challenge is malformed.")
    return challenge, method


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(challenge: str | None, verifier: str | None) -> None:
    """RFC 7636 §4.6, and RFC 9700 §4.8.2: a verifier without a challenge is refused too."""
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant(
                "code_verifier was sent but the authorization request had no code_challenge."
            )
        return
    if verifier is None:
        raise InvalidGrant("Missing code_verifier.")
    if not _VALUE.match(verifier) or not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("Failed to verify code verifier")
