"""Per-request values: the services, the tenant, the caller's address."""

from __future__ import annotations

from starlette.requests import Request

from tether.domain.audit import RequestInfo
from tether.domain.errors import NotFound
from tether.domain.models import Tenant
from tether.web import access_log
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
    request.state.tenant = found.name  # for the request's log line (web/access_log.py)
    return found


def note_client(request: Request, client_id: object) -> None:
    """The application this request is for, as far as the request's log line is concerned."""
    access_log.note_client(request.scope.setdefault("state", {}), client_id)


def client_ip(request: Request) -> str | None:
    """The caller's IP: what rate limits, brute-force protection and log events key on. The one
    place it is read. Behind a trusted proxy ``web/proxy.ProxyHeaders`` has already put the
    client's address in the scope; forwarding headers from anyone else were dropped there, so a
    client cannot pick its own address (RFC 9700 §4.13)."""
    return request.client.host if request.client else None


def request_info(request: Request) -> RequestInfo:
    return RequestInfo(
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        method=request.method,
        path=request.url.path,
    )
