"""The SSO session cookie (DESIGN.md, Browser rules): HttpOnly; Secure on https and on
localhost (browsers treat http://localhost as a secure context); SameSite=Lax unless the tenant
serves apps on other sites that need silent authentication (``session_cookie_samesite: none``).

On https the cookies that live at ``Path=/`` carry the ``__Host-`` prefix (RFC 6265bis
§4.1.3.2): the browser then takes them only from this very host, Secure, with no Domain, so a
sibling subdomain or a plain-http response cannot plant a session or a CSRF secret. Plain http
(localhost development) keeps the bare names, since browsers refuse the prefix without https.
Only the name for the request's scheme is read: a bare cookie on https counts for nothing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tether.domain.models import Tenant

SESSION = "tether_session"
#: The requesting browser's secret for a passwordless magic link (issue 11, finding 7).
MAGIC_LINK = "tether_magic_link"


def host_only(request: Request, name: str) -> str:
    """The name of a ``Path=/`` cookie for this request: ``__Host-name`` on https."""
    return f"__Host-{name}" if request.url.scheme == "https" else name


def is_secure(request: Request) -> bool:
    host = (request.url.hostname or "").lower()
    return request.url.scheme == "https" or host == "localhost" or host.endswith(".localhost")


def set_session(request: Request, response: Response, tenant: Tenant, value: str) -> None:
    same_site = str(tenant.settings.get("session_cookie_samesite") or "lax").lower()
    secure = is_secure(request)
    if same_site == "none" and not secure:
        same_site = "lax"  # browsers drop SameSite=None cookies that are not Secure
    response.set_cookie(
        host_only(request, SESSION),
        value,
        httponly=True,
        secure=secure,
        samesite=same_site,  # type: ignore[arg-type]
        path="/",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        host_only(request, SESSION), path="/", httponly=True, secure=is_secure(request)
    )


def session_value(request: Request) -> str | None:
    return request.cookies.get(host_only(request, SESSION))
