"""Client authentication at the token endpoint (RFC 6749 §2.3.1).

Two methods: ``client_secret_basic`` (HTTP Basic, RFC 6749 §2.3.1 with form-urlencoded
id and secret) and ``client_secret_post`` (both in the body). Using both at once is an error.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from tether.protocol.errors import InvalidClient, InvalidRequest


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None
    method: str  # "client_secret_basic" | "client_secret_post" | "none"


def extract(authorization: str | None, params: Mapping[str, str]) -> ClientCredentials:
    """Read the client's id and secret from the Authorization header or the body."""
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    if authorization and authorization[:6].lower() == "basic ":
        if body_secret is not None:
            raise InvalidRequest("Use only one client authentication method.")
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidClient("Malformed Basic authorization header.") from exc
        cid, sep, secret = decoded.partition(":")
        if not sep or not cid:
            raise InvalidClient("Malformed Basic authorization header.")
        cid, secret = unquote(cid), unquote(secret)
        if body_id is not None and body_id != cid:
            raise InvalidRequest("client_id in the body does not match the Authorization header.")
        return ClientCredentials(cid, secret, "client_secret_basic")
    if body_id is None:
        raise InvalidRequest("Missing required parameter: client_id")
    if body_secret is not None:
        return ClientCredentials(body_id, body_secret, "client_secret_post")
    return ClientCredentials(body_id, None, "none")
