"""Request bodies of the Management API, with Auth0's names. Unknown fields are refused, as
Auth0 refuses them ("Payload validation error")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Str = Field(default=None, max_length=2048)
Name = Field(default=None, max_length=300)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateUser(_Body):
    connection: str = Field(min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    email_verified: bool | None = None
    verify_email: bool | None = None
    username: str | None = Field(default=None, max_length=128)
    phone_number: str | None = Field(default=None, max_length=32)
    phone_verified: bool | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    blocked: bool | None = None
    given_name: str | None = Name
    family_name: str | None = Name
    name: str | None = Name
    nickname: str | None = Name
    picture: str | None = Str
    user_id: str | None = Field(default=None, max_length=255)


class UpdateUser(_Body):
    connection: str | None = Field(default=None, max_length=128)
    client_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    email_verified: bool | None = None
    verify_email: bool | None = None
    username: str | None = Field(default=None, max_length=128)
    phone_number: str | None = Field(default=None, max_length=32)
    phone_verified: bool | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    blocked: bool | None = None
    given_name: str | None = Name
    family_name: str | None = Name
    name: str | None = Name
    nickname: str | None = Name
    picture: str | None = Str


class Identity(BaseModel):
    model_config = ConfigDict(extra="allow")
    connection: str
    user_id: str | int
    provider: str
    isSocial: bool | None = None
    profileData: dict[str, Any] | None = None


class User(BaseModel):
    """The user object (auth0-wire.md §2.1); providers may add fields at the root."""

    model_config = ConfigDict(extra="allow")
    user_id: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    identities: list[Identity] | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class UsersPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    users: list[User]


class LogEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    log_id: str
    date: str
    type: str


class LogsPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    logs: list[LogEvent]


class Error(BaseModel):
    statusCode: int
    error: str
    message: str
    errorCode: str | None = None
    attributes: dict[str, Any] | None = None


#: Error responses every endpoint may give, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "Invalid request"},
    401: {"model": Error, "description": "Missing or invalid token"},
    403: {"model": Error, "description": "Insufficient scope or not the token's user"},
    429: {"model": Error, "description": "Too many requests"},
}
