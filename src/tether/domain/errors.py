"""Domain errors: a stable ``code``, a ``kind`` and a human message, no HTTP.

The kind says what went wrong in terms any surface understands (DESIGN.md, Errors); one table in
web/errors.py maps kinds to HTTP statuses, and each surface (Authentication API, /dbconnections,
Management API, HTML) renders the error in its own shape.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar


class ErrorKind(Enum):
    """What kind of failure an error is, independent of who asked."""

    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID_INPUT = "invalid_input"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    UPSTREAM = "upstream"
    INTERNAL = "internal"


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    kind: ClassVar[ErrorKind] = ErrorKind.INTERNAL

    def __init__(self, message: str, *, code: str | None = None):
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]  # instance override of the class default
        super().__init__(message)


class NotFound(DomainError):
    code = "not_found"
    kind = ErrorKind.NOT_FOUND


class Conflict(DomainError):
    code = "conflict"
    kind = ErrorKind.CONFLICT


class InvalidInput(DomainError):
    code = "invalid_body"
    kind = ErrorKind.INVALID_INPUT


class PasswordRejected(InvalidInput):
    """The password breaks the connection's policy (Auth0 ``invalid_password``)."""

    code = "invalid_password"


class InvalidCredentials(DomainError):
    """Wrong email or password: one error for unknown user, wrong password and blocked user."""

    code = "invalid_credentials"
    kind = ErrorKind.UNAUTHENTICATED


class UserBlocked(DomainError):
    code = "user_blocked"
    kind = ErrorKind.FORBIDDEN


class Forbidden(DomainError):
    code = "forbidden"
    kind = ErrorKind.FORBIDDEN


class Unavailable(DomainError):
    """The store is locked or down: the caller should retry shortly."""

    code = "temporarily_unavailable"
    kind = ErrorKind.UNAVAILABLE


class RateLimited(DomainError):
    """Too many attempts; ``reset_at`` is when the caller may try again (epoch seconds)."""

    code = "too_many_attempts"
    kind = ErrorKind.RATE_LIMITED

    def __init__(self, message: str, *, limit: int, reset_at: int):
        super().__init__(message)
        self.limit = limit
        self.reset_at = reset_at
