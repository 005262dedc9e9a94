"""The one factory for outbound HTTP clients: timeouts, a size cap on bodies, few redirects, and
no requests to private, loopback or link-local addresses unless the operator allowed them
(SSRF guard, OWASP ASVS 1.3.6)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

TIMEOUT = httpx.Timeout(5.0, connect=3.0)
#: The whole request, body included: a provider that sends a byte now and then never trips the
#: per-read timeout above.
DEADLINE = 5.0
MAX_BODY = 1024 * 1024


class UpstreamHttpError(Exception):
    """Anything that went wrong talking to the provider; ``kind`` is short and loggable."""

    def __init__(self, kind: str, detail: str = ""):
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}" if detail else kind)


def _is_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass(frozen=True)
class PrivateNetworks:
    """The operator's TETHER_FEDERATION_PRIVATE_NETWORKS: the only private destinations an
    upstream request may reach. Empty by default; nothing a tenant sends can add to it."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> PrivateNetworks:
        networks = []
        hosts = set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower())
        return cls(tuple(networks), frozenset(hosts))

    def allows(self, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if host.lower() in self.hosts:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self.networks)


NO_PRIVATE_NETWORKS = PrivateNetworks()


async def check_destination(url: str, private: PrivateNetworks = NO_PRIVATE_NETWORKS) -> None:
    """OWASP ASVS 1.3.6 (SSRF): every address the host name resolves to must be public, or a
    private one the operator allowed; plain http only to such an allowed private destination."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UpstreamHttpError("bad_url", url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _resolve_checked(parts.hostname, port, private)
    if parts.scheme == "http" and not all(_is_private(a) for a in addresses):
        raise UpstreamHttpError("insecure_url", "upstream URLs must be https")


async def _resolve_checked(
    host: str, port: int, private: PrivateNetworks
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses ``host`` resolves to, once every one has passed the guard."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UpstreamHttpError("dns", host) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UpstreamHttpError("dns", host)
    for address in addresses:
        if _is_private(address) and not private.allows(host, address):
            raise UpstreamHttpError("private_address", f"{host} -> {address}")
    return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to an address it resolved and checked itself, in the same step.

    ``check_destination`` before a request is not enough on its own: the HTTP client resolves
    the name again when it connects, and a rebinding DNS server (TTL 0) answers a public
    address to the check and 127.0.0.1 or 169.254.169.254 to the connect (OWASP ASVS 1.3.6;
    "DNS rebinding"). Here the checked address is the one dialled; TLS still verifies the
    certificate against the host name, which httpcore passes to ``start_tls`` separately."""

    def __init__(self, private: PrivateNetworks):
        self._private = private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve_checked(host, port, self._private)
        return await self._inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UpstreamHttpError("bad_url", "unix sockets are not upstreams")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over ``_GuardedBackend``. httpx takes no network backend, so the
    pool it built is swapped for one that has it (same settings); proxies from the environment
    are not used (``trust_env=False``), so no proxy resolves the name in our stead."""

    def __init__(self, private: PrivateNetworks):
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,  # httpx's own defaults
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(private),
        )


class UpstreamClient:
    """A thin wrapper: every request checks its destination and caps the body it reads."""

    def __init__(
        self, *, private: PrivateNetworks, transport: httpx.AsyncBaseTransport | None = None
    ):
        self._private = private
        self._client = httpx.AsyncClient(
            timeout=TIMEOUT,
            follow_redirects=False,
            transport=transport or _GuardedTransport(private),
            trust_env=False,
            headers={"User-Agent": "Tether", "Accept": "application/json"},
        )

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def request(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        """Send and parse JSON; (status, body). Non-JSON bodies raise ``bad_response``."""
        try:
            async with asyncio.timeout(DEADLINE):
                await check_destination(url, self._private)
                async with self._client.stream(method, url, **kwargs) as response:
                    size = int(response.headers.get("content-length") or 0)
                    if size > MAX_BODY:
                        raise UpstreamHttpError("too_large", url)
                    chunks = []
                    total = 0
                    async for chunk in response.aiter_bytes():
                        total += len(chunk)
                        if total > MAX_BODY:
                            raise UpstreamHttpError("too_large", url)
                        chunks.append(chunk)
                    status = response.status_code
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise UpstreamHttpError("timeout", url) from exc
        except httpx.HTTPError as exc:
            raise UpstreamHttpError("network", type(exc).__name__) from exc
        raw = b"".join(chunks)
        try:
            import json

            return status, json.loads(raw) if raw else None
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep JSON
            raise UpstreamHttpError(
                "bad_response", f"{url} answered {status} with non-JSON"
            ) from exc


def make_client(
    *, private: PrivateNetworks, transport: httpx.AsyncBaseTransport | None = None
) -> UpstreamClient:
    return UpstreamClient(private=private, transport=transport)
