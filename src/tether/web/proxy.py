"""Believing a reverse proxy, and only a trusted one (DESIGN.md, Storage and scale: "forwarded
headers count only from TETHER_TRUSTED_PROXIES").

A TLS-terminating proxy tells the server who the client is, which scheme the client used and
which host it asked for, in RFC 7239's ``Forwarded`` header or in the de facto
``X-Forwarded-For`` / ``-Proto`` / ``-Host``. Anyone can send those headers, so they are read only
when the connection comes from an address in ``TETHER_TRUSTED_PROXIES``, and only in the one style
the proxy is configured to write (``TETHER_FORWARDED_HEADERS``): a proxy that appends to
``X-Forwarded-For`` usually passes a client's ``Forwarded`` through untouched, and the other way
round. From anyone else, and in the other style, they are removed from the request before any
route sees it.

``ProxyHeaders`` rewrites the ASGI scope once, at the edge: ``client`` becomes the client's
address, ``scheme`` the client's scheme and the ``Host`` header the host it asked for. Everything
after it (the client IP that rate limits and brute-force protection key on, the tenant chosen by
Host, ``Secure`` and ``__Host-`` cookies under https) reads the scope and never a forwarding
header. The address list is walked right to left (RFC 7239 §5.2, RFC 9700 §4.13): each trusted
proxy appends the address it saw, so the first untrusted address from the right is the client,
and whatever a client wrote further left counts for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

Style = Literal["x-forwarded", "forwarded"]
FORWARDED = b"forwarded"
X_FOR = b"x-forwarded-for"
X_PROTO = b"x-forwarded-proto"
X_HOST = b"x-forwarded-host"
#: Every header that claims something about the hop before this one; none survives the edge.
HEADERS = frozenset({FORWARDED, X_FOR, X_PROTO, X_HOST, b"x-forwarded-port", b"x-real-ip"})
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)
#: RFC 7239 §4: ``name=token`` or ``name="quoted string"``, pairs separated by ``;``.
_PAIR = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,"\s]*)\s*')


@dataclass(frozen=True)
class Hop:
    """What one proxy said about the connection it received: the peer's address (None when it
    wrote ``unknown`` or an obfuscated name), the scheme and the Host it was asked for."""

    address: str | None
    proto: str | None = None
    host: str | None = None


class TrustedNetworks:
    """``TETHER_TRUSTED_PROXIES``: addresses and CIDRs, e.g. ``["127.0.0.1", "10.0.0.0/8"]``."""

    def __init__(self, entries: Iterable[str]):
        self._networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
            _unmapped(ip_network(e.strip(), strict=False)) for e in entries
        )

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str) or not self._networks:
            return False
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped:
            parsed = parsed.ipv4_mapped
        return any(parsed in network for network in self._networks)


def _unmapped(network: IPv4Network | IPv6Network) -> IPv4Network | IPv6Network:
    """``::ffff:10.0.0.0/104`` is ``10.0.0.0/8``: addresses are compared unmapped too."""
    if isinstance(network, IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _node_address(node: str) -> str | None:
    """RFC 7239 §6: ``192.0.2.43``, ``"[2001:db8::1]:4711"``, ``unknown``, ``_hidden``."""
    node = node.strip()
    if node.startswith("["):
        node = node[1 : node.find("]")] if "]" in node else ""
    elif node.count(":") == 1:
        node = node.split(":", 1)[0]
    try:
        return str(ip_address(node))
    except ValueError:
        return None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_forwarded(values: Iterable[str]) -> list[Hop] | None:
    """The hops of RFC 7239 ``Forwarded`` headers, first proxy first; None if malformed."""
    hops: list[Hop] = []
    for value in values:
        for element in _split_elements(value):
            pairs: dict[str, str] = {}
            for part in _split_outside_quotes(element, ";"):
                if not part.strip():
                    continue
                match = _PAIR.fullmatch(part)
                if match is None:
                    return None
                pairs[match.group(1).lower()] = _unquote(match.group(2))
            if "for" not in pairs:
                return None  # a hop that does not say whom it received is no evidence
            hops.append(
                Hop(
                    _node_address(pairs["for"]),
                    pairs.get("proto", "").lower() or None,
                    pairs.get("host") or None,
                )
            )
    return hops


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _split_elements(value: str) -> list[str]:
    return [e for e in _split_outside_quotes(value, ",") if e.strip()]


def parse_x_forwarded(
    for_values: Iterable[str], proto_values: Iterable[str], host_values: Iterable[str]
) -> list[Hop]:
    """The hops of ``X-Forwarded-For`` with ``-Proto`` and ``-Host``. Most proxies send one
    scheme and one host however long the address list is: those describe the connection the
    nearest proxy received, so they go with every hop unless the lists line up one to one."""
    addresses = [a.strip() for v in for_values for a in v.split(",") if a.strip()]
    protos = [p.strip().lower() for v in proto_values for p in v.split(",") if p.strip()]
    hosts = [h.strip() for v in host_values for h in v.split(",") if h.strip()]
    if not addresses and (protos or hosts):
        # Scheme and host without an address: the proxy's own peer is not named, so the client
        # stays the connection's peer.
        return [Hop(None, protos[-1] if protos else None, hosts[-1] if hosts else None)]
    hops = []
    for i, address in enumerate(addresses):
        proto = protos[i] if len(protos) == len(addresses) else (protos[-1] if protos else None)
        host = hosts[i] if len(hosts) == len(addresses) else (hosts[-1] if hosts else None)
        hops.append(Hop(_node_address(address), proto, host))
    return hops


def client_hop(hops: list[Hop], trusted: TrustedNetworks) -> Hop | None:
    """The hop written by the outermost trusted proxy: right to left, the first whose address is
    not a trusted proxy (or is unknown: nothing further left can be checked)."""
    for hop in reversed(hops):
        if hop.address is None or hop.address not in trusted:
            return hop
    return hops[0] if hops else None


@dataclass(frozen=True)
class Resolved:
    client: str
    scheme: str | None
    host: str | None


def resolve(
    peer: str | None, headers: list[tuple[bytes, bytes]], trusted: TrustedNetworks, style: Style
) -> Resolved | None:
    """What a trusted proxy at ``peer`` says about the client, or None (not trusted, or it said
    nothing usable)."""
    if peer is None or peer not in trusted:
        return None

    def values(name: bytes) -> list[str]:
        return [v.decode("latin-1") for k, v in headers if k == name]

    if style == "forwarded":
        parsed = parse_forwarded(values(FORWARDED))
        hops = parsed or []
    else:
        hops = parse_x_forwarded(values(X_FOR), values(X_PROTO), values(X_HOST))
    hop = client_hop(hops, trusted)
    if hop is None:
        return None
    scheme = hop.proto if hop.proto in ("http", "https") else None
    host = hop.host if hop.host and _HOST.fullmatch(hop.host) else None
    return Resolved(hop.address or peer, scheme, host.lower() if host else None)


class ProxyHeaders:
    """The outermost middleware: the scope says what the client did, forwarding headers go."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str], style: Style = "x-forwarded"):
        self.app = app
        self.trusted = TrustedNetworks(trusted)
        self.style = style

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        client = scope.get("client")
        peer = client[0] if client else None
        state = scope.setdefault("state", {})
        if not self.trusted:
            # No proxy is trusted (the default): only the removal of forwarding headers is left.
            state["via_trusted_proxy"] = False
            if any(k in HEADERS for k, _ in headers):
                scope["headers"] = [(k, v) for k, v in headers if k not in HEADERS]
            await self.app(scope, receive, send)
            return
        found = resolve(peer, headers, self.trusted, self.style)
        kept = [(k, v) for k, v in headers if k not in HEADERS]
        state["via_trusted_proxy"] = peer is not None and peer in self.trusted
        if found is not None:
            scope["client"] = (found.client, 0)
            if found.scheme is not None:
                secure = found.scheme == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = found.scheme
            if found.host is not None:
                kept = [(k, v) for k, v in kept if k != b"host"]
                kept.append((b"host", found.host.encode("latin-1")))
        scope["headers"] = kept
        await self.app(scope, receive, send)
