"""Where a protected resource finds the access token: RFC 6750 §2.

Three methods: the ``Authorization: Bearer`` header (§2.1), a form-encoded body field
``access_token`` (§2.2, not on GET, body ``application/x-www-form-urlencoded`` only), and the
``access_token`` query parameter (§2.3). passport-auth0 and django-allauth read the profile with
the query form, which Auth0 accepts. A request must use exactly one method (§2: "Clients MUST NOT
use more than one method to transmit the token in each request"): two is ``invalid_request``.
"""

from __future__ import annotations

from starlette.requests import Request

from tether.protocol.errors import InvalidRequest, InvalidToken
from tether.web.body import read_params

FORM = "application/x-www-form-urlencoded"
FIELD = "access_token"


def _from_header(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # A header that is there but is not a bearer token is no token at all (§3.1).
        raise InvalidToken("Missing access token.")
    return token.strip()


async def _from_form(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if request.method == "GET" or content_type != FORM:
        return None
    params = await read_params(request, allow_empty=True)
    value = params.get(FIELD)
    return value if isinstance(value, str) else None


def _from_query(request: Request) -> str | None:
    values = request.query_params.getlist(FIELD)
    if len(values) > 1:
        raise InvalidRequest("The access token was sent more than once.")
    return values[0] if values else None


async def access_token(request: Request) -> str:
    """The one access token of ``request``. None at all is ``invalid_token``, as Auth0 answers."""
    found = [
        t for t in (_from_header(request), await _from_form(request), _from_query(request))
        if t is not None
    ]  # fmt: skip
    if len(found) > 1:
        raise InvalidRequest("Send the access token in one place only (RFC 6750 section 2).")
    if not found or not found[0].strip():
        raise InvalidToken("Missing access token.")
    return found[0].strip()
