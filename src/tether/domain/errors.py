"""Domain errors: a stable ``code`` and a human message, no HTTP.

Each surface (Authentication API, /dbconnections, Management API, HTML) maps them to its own
shape; see web/errors.py.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"

    def __init__(self, message: str, *, code: str | None = None):
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]  # instance override of the class default
        super().__init__(message)


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_body"


class PasswordRejected(InvalidInput):
    """The password breaks the connection's policy (Auth0 ``invalid_password``)."""

    code = "invalid_password"


class InvalidCredentials(DomainError):
    """Wrong email or password: one error for unknown user, wrong password and blocked user."""

    code = "invalid_credentials"


class UserBlocked(DomainError):
    code = "user_blocked"


class Forbidden(DomainError):
    code = "forbidden"


class Unavailable(DomainError):
    """The store is locked or down: the caller should retry shortly."""

    code = "temporarily_unavailable"


class RateLimited(DomainError):
    """Too many attempts; ``reset_at`` is when the caller may try again (epoch seconds)."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, limit: int, reset_at: int):
        super().__init__(message)
        self.limit = limit
        self.reset_at = reset_at
