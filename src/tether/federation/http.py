"""The one factory for outbound HTTP clients: timeouts, a size cap on bodies, few redirects, and
no requests to private, loopback or link-local addresses unless allowed (SSRF guard)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

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


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check_destination(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UpstreamHttpError("bad_url", url)
    if parts.scheme == "http" and not allow_private:
        raise UpstreamHttpError("insecure_url", "upstream URLs must be https")
    if allow_private:
        return
    host = parts.hostname
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise UpstreamHttpError("dns", host) from exc
    for info in infos:
        if _is_private(str(info[4][0])):
            raise UpstreamHttpError("private_address", host)


class UpstreamClient:
    """A thin wrapper: every request checks its destination and caps the body it reads."""

    def __init__(self, *, allow_private: bool, transport: httpx.AsyncBaseTransport | None = None):
        self._allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=TIMEOUT,
            follow_redirects=False,
            transport=transport,
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
                await check_destination(url, allow_private=self._allow_private)
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
    *, allow_private: bool, transport: httpx.AsyncBaseTransport | None = None
) -> UpstreamClient:
    return UpstreamClient(allow_private=allow_private, transport=transport)
