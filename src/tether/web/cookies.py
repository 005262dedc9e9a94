"""The SSO session cookie (DESIGN.md, Browser rules): HttpOnly; Secure on https and on
localhost (browsers treat http://localhost as a secure context); SameSite=Lax unless the tenant
serves apps on other sites that need silent authentication (``session_cookie_samesite: none``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tether.domain.models import Tenant

SESSION = "tether_session"


def is_secure(request: Request) -> bool:
    host = (request.url.hostname or "").lower()
    return request.url.scheme == "https" or host == "localhost" or host.endswith(".localhost")


def set_session(request: Request, response: Response, tenant: Tenant, value: str) -> None:
    same_site = str(tenant.settings.get("session_cookie_samesite") or "lax").lower()
    secure = is_secure(request)
    if same_site == "none" and not secure:
        same_site = "lax"  # browsers drop SameSite=None cookies that are not Secure
    response.set_cookie(
        SESSION,
        value,
        httponly=True,
        secure=secure,
        samesite=same_site,  # type: ignore[arg-type]
        path="/",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION, path="/", httponly=True, secure=is_secure(request))


def session_value(request: Request) -> str | None:
    return request.cookies.get(SESSION)
