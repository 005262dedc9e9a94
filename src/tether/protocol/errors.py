"""OAuth 2.0 errors that render themselves.

Each class's ``error`` attribute is the wire code (RFC 6749 §5.2, RFC 6750 §3.1) and its
``status_code`` the HTTP status Auth0 uses for it (auth0-wire.md §3.1). The web layer turns
any ``OAuth2Error`` into ``{"error", "error_description"}`` without knowing which one it is.
"""

from __future__ import annotations

from typing import ClassVar


class OAuth2Error(Exception):
    """Base of every error the Authentication API answers with."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400
    default_description: ClassVar[str] = ""

    def __init__(self, description: str | None = None, *, headers: dict[str, str] | None = None):
        self.description = description if description is not None else self.default_description
        self.headers = dict(headers or {})
        super().__init__(f"{self.error}: {self.description}")

    def body(self) -> dict[str, str]:
        """The JSON body, RFC 6749 §5.2."""
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuth2Error):
    error = "invalid_request"


class InvalidClient(OAuth2Error):
    """RFC 6749 §5.2: client authentication failed. Auth0 answers 401."""

    error = "invalid_client"
    status_code = 401
    default_description = "Client authentication failed."


class InvalidGrant(OAuth2Error):
    """Auth0 answers 403 for bad credentials and bad refresh tokens (auth0-wire.md §3.1)."""

    error = "invalid_grant"
    status_code = 403


class UnauthorizedClient(OAuth2Error):
    error = "unauthorized_client"
    status_code = 403


class AccessDenied(OAuth2Error):
    error = "access_denied"
    status_code = 403


class UnsupportedGrantType(OAuth2Error):
    error = "unsupported_grant_type"
    status_code = 400


class InvalidScope(OAuth2Error):
    error = "invalid_scope"
    status_code = 400


class InvalidToken(OAuth2Error):
    """RFC 6750 §3.1, used by /userinfo."""

    error = "invalid_token"
    status_code = 401


class TooManyRequests(OAuth2Error):
    error = "too_many_requests"
    status_code = 429
    default_description = "Too many requests. Try again later."


class TooManyAttempts(OAuth2Error):
    error = "too_many_attempts"
    status_code = 429
    default_description = "Too many failed sign-in attempts. Try again later."


class EndpointDisabled(OAuth2Error):
    error = "endpoint_disabled"
    status_code = 404


class TemporarilyUnavailable(OAuth2Error):
    error = "temporarily_unavailable"
    status_code = 503
    default_description = "The service is temporarily unavailable. Try again shortly."


class ServerError(OAuth2Error):
    error = "server_error"
    status_code = 500
    default_description = "Something went wrong on our side."
