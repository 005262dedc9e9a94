"""Redirect URI matching (RFC 9700 §2.1, RFC 6749 §3.1.2, RFC 8252 §7.3).

Exact string comparison against the registered callbacks. The one exception: a native
application's loopback callback (``http://127.0.0.1``, ``http://[::1]`` and ``localhost``) may use
any port, and only the port (RFC 8252 §7.3). A loopback URI is read by one strict parser, and the
URI Tether redirects to (or posts to, with ``form_post``) is the one that parser renders from what
it matched, never the raw string: userinfo, backslashes, encoded separators and anything the
parser would not render back byte for byte are refused, so no browser can read the URI as a
different host than the matcher did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# http://HOST[:PORT][/path][?query]: the authority is only one of the loopback hosts and a port,
# so userinfo ("user@") cannot appear; the path and query hold no backslash, '#', '@' or space.
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\]|localhost)"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
    r"(?P<path>/[^?#\\@\s]*)?"
    r"(?:\?(?P<query>[^#\\@\s]*))?"
)
# Percent-encoded '/', '\', '@', '?', '#', '.' and ':' would let a lenient parser downstream see
# another authority or path than the one matched.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|40|3f|23|2e|3a|00)", re.IGNORECASE)


@dataclass(frozen=True)
class LoopbackUri:
    host: str
    port: int | None
    path: str
    query: str | None

    def render(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        query = f"?{self.query}" if self.query is not None else ""
        return f"http://{self.host}{port}{self.path}{query}"

    def same_but_port(self, other: LoopbackUri) -> bool:
        return (self.host, self.path, self.query) == (other.host, other.path, other.query)


def parse_loopback(uri: str) -> LoopbackUri | None:
    """The loopback URI ``uri`` names, or None if it is not one written plainly."""
    found = _LOOPBACK.fullmatch(uri)
    if found is None or _ENCODED_SEPARATOR.search(uri):
        return None
    port = int(found["port"]) if found["port"] else None
    if port is not None and port > 65535:
        return None
    parsed = LoopbackUri(found["host"], port, found["path"] or "", found["query"])
    # Render back what was read: a URI the parser would write differently is not accepted.
    return parsed if parsed.render() == uri else None


def match(registered: Iterable[str], given: str, *, native: bool) -> str | None:
    """The redirect URI to use if ``given`` is allowed, else None.

    Exact matches return ``given``; a native app's loopback match returns the URI the parser
    rendered (the registered one with the given port)."""
    if not given or "#" in given:
        return None
    wanted = parse_loopback(given) if native else None
    for uri in registered:
        if uri == given:
            return given
        if wanted is not None:
            allowed = parse_loopback(uri)
            if allowed is not None and allowed.same_but_port(wanted):
                return wanted.render()
    return None
