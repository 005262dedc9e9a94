"""Per-request values: the services, the tenant, the caller's address."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from starlette.requests import Request

from tether.domain.audit import RequestInfo
from tether.domain.errors import NotFound
from tether.domain.models import Tenant
from tether.web.services import Services


def services(request: Request) -> Services:
    """The services the app was built with (``create_app``); web never builds them."""
    value: Services = request.app.state.services
    return value


async def tenant(request: Request) -> Tenant:
    """The tenant this request's Host names, else the default tenant."""
    host = request.headers.get("host", "")
    found = await services(request).tenants.resolve(host)
    if found is None:
        raise NotFound("No tenant is configured yet. Run `tether init`.", code="inexistent_tenant")
    return found


def _trusted(peer: str, proxies: list[str]) -> bool:
    try:
        address = ip_address(peer)
    except ValueError:
        return False
    return any(address in ip_network(p, strict=False) for p in proxies)


def client_ip(request: Request) -> str | None:
    """The caller's IP. X-Forwarded-For is believed only from a trusted proxy, read right to left
    (RFC 9700 §4.13: a proxy's inbound headers must not be taken from the client)."""
    peer = request.client.host if request.client else None
    proxies = services(request).settings.trusted_proxies
    if peer is None or not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop, proxies):
            return hop
    return peer


def request_info(request: Request) -> RequestInfo:
    return RequestInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))
