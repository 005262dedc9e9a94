"""Identifiers and secrets: random, URL-safe, hashed before they are stored."""

from __future__ import annotations

import hashlib
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def new_id(prefix: str = "") -> str:
    """A random 16-byte identifier, hex, with an optional Auth0-style prefix (``con_``, ``cgr_``)."""
    return prefix + secrets.token_hex(16)


def new_client_id() -> str:
    """32 alphanumerics, like Auth0's client ids."""
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def new_secret(nbytes: int = 48) -> str:
    return secrets.token_urlsafe(nbytes)


def new_database_subject() -> str:
    """Auth0 database users are ``auth0|<24 hex>``."""
    return secrets.token_hex(12)


def new_log_id() -> str:
    return "9002" + secrets.token_hex(26)


def hash_token(value: str) -> str:
    """Codes, refresh tokens and tickets are stored as SHA-256: high-entropy, so no salt needed."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
