"""Redirect URI matching (RFC 9700 §2.1, RFC 6749 §3.1.2, RFC 8252 §7.3).

Exact string comparison against the registered callbacks. The one exception: a native
application's loopback callback (``http://127.0.0.1`` or ``http://[::1]``, and ``localhost``) may
use any port.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_LOOPBACK = {"127.0.0.1", "[::1]", "localhost"}


def _without_port(uri: str) -> tuple[str, str, str, str] | None:
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http" or (host not in _LOOPBACK and f"[{host}]" not in _LOOPBACK):
        return None
    return parts.scheme, host, parts.path, parts.query


def matches(registered: Iterable[str], given: str, *, native: bool) -> bool:
    if not given or "#" in given:
        return False
    for uri in registered:
        if uri == given:
            return True
        if native:
            a, b = _without_port(uri), _without_port(given)
            if a is not None and a == b:
                return True
    return False
