"""What an application is made of and how it may change (Auth0's client object), checked
before anything is stored; shared by the Management API, the dashboard and the CLI."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from tether.domain.errors import InvalidInput
from tether.domain.ids import new_client_id, new_id
from tether.domain.models import Application, AppType
from tether.domain.text import check_text
from tether.protocol.grants import GrantType

#: Auth0's defaults per application type.
DEFAULT_GRANTS: dict[AppType, list[str]] = {
    AppType.SPA: [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    AppType.NATIVE: [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    AppType.REGULAR_WEB: [
        GrantType.AUTHORIZATION_CODE,
        GrantType.REFRESH_TOKEN,
        GrantType.CLIENT_CREDENTIALS,
    ],
    AppType.NON_INTERACTIVE: [GrantType.CLIENT_CREDENTIALS],
}

ALLOWED_GRANTS = {g.value for g in GrantType} | {"implicit"}
AUTH_METHODS = {"none", "client_secret_post", "client_secret_basic"}
#: Bounds that keep every value inside its column and a client object a sane size.
MAX_URLS = 100
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION = 512
MAX_API_SCOPES = 1000
MAX_SCOPE_VALUE = 280
MAX_SCOPE_DESCRIPTION = 500


@dataclass(frozen=True)
class NewApplication:
    name: str
    app_type: AppType = AppType.REGULAR_WEB
    callbacks: tuple[str, ...] = ()
    allowed_logout_urls: tuple[str, ...] = ()
    web_origins: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    grant_types: tuple[str, ...] | None = None
    token_endpoint_auth_method: str | None = None
    description: str = ""
    is_first_party: bool = True
    cross_origin_authentication: bool = False
    cross_origin_loc: str | None = None


@dataclass(frozen=True)
class ApplicationChanges:
    """A ``PATCH /api/v2/clients/{id}`` body: ``None`` leaves a setting as it is."""

    name: str | None = None
    description: str | None = None
    app_type: AppType | None = None
    callbacks: tuple[str, ...] | None = None
    allowed_logout_urls: tuple[str, ...] | None = None
    web_origins: tuple[str, ...] | None = None
    allowed_origins: tuple[str, ...] | None = None
    grant_types: tuple[str, ...] | None = None
    token_endpoint_auth_method: str | None = None
    is_first_party: bool | None = None
    cross_origin_authentication: bool | None = None
    cross_origin_loc: str | None = None  # "" clears it

    @property
    def names(self) -> builtins.list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


def _check_urls(field: str, values: Sequence[str], *, origin_only: bool = False) -> list[str]:
    if len(values) > MAX_URLS:
        raise InvalidInput(f"{field}: at most {MAX_URLS} URLs.")
    out = []
    for value in values:
        check_text(field, value, max_length=MAX_URL_LENGTH, min_length=1)
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  # a port that is not a number is not a URL
        except ValueError as exc:
            raise InvalidInput(f"{field}: {value!r} is not a valid URL.") from exc
        if parts.scheme not in ("http", "https") and not (not origin_only and parts.scheme):
            raise InvalidInput(f"{field}: {value!r} is not an absolute URL.")
        if not parts.netloc and parts.scheme in ("http", "https"):
            raise InvalidInput(f"{field}: {value!r} has no host.")
        if parts.fragment:
            raise InvalidInput(f"{field}: {value!r} must not have a fragment.")
        if origin_only and (parts.path not in ("", "/") or parts.query):
            raise InvalidInput(f"{field}: {value!r} must be an origin (scheme, host and port).")
        out.append(value.rstrip("/") if origin_only else value)
    return out


def validate_new_application(spec: NewApplication) -> Application:
    """Turn a request into an Application, refusing what Auth0 would refuse."""
    name = check_text("name", spec.name.strip(), min_length=1, max_length=128)
    description = check_text(
        "description", spec.description, max_length=MAX_DESCRIPTION, single_line=False
    )
    if len(set(spec.grant_types or ())) != len(spec.grant_types or ()):
        raise InvalidInput("grant_types: each grant may appear once.")
    grants = (
        list(spec.grant_types)
        if spec.grant_types is not None
        else list(DEFAULT_GRANTS[spec.app_type])
    )
    for grant in grants:
        if grant not in ALLOWED_GRANTS:
            raise InvalidInput(f"grant_types: {grant!r} is not a grant Tether supports.")
    method = spec.token_endpoint_auth_method or (
        "none" if spec.app_type in (AppType.SPA, AppType.NATIVE) else "client_secret_post"
    )
    if method not in AUTH_METHODS:
        raise InvalidInput(f"token_endpoint_auth_method: {method!r} is not supported.")
    if method == "none" and GrantType.CLIENT_CREDENTIALS in grants:
        raise InvalidInput("grant_types: client_credentials needs a confidential application.")
    return Application(
        id=new_id("app_"),
        tenant_id="",
        client_id=new_client_id(),
        name=name,
        app_type=spec.app_type,
        encrypted_secret=None,
        token_endpoint_auth_method=method,
        grant_types=[str(g) for g in grants],
        callbacks=_check_urls("callbacks", spec.callbacks),
        allowed_logout_urls=_check_urls("allowed_logout_urls", spec.allowed_logout_urls),
        web_origins=_check_urls("web_origins", spec.web_origins, origin_only=True),
        allowed_origins=_check_urls("allowed_origins", spec.allowed_origins, origin_only=True),
        is_first_party=spec.is_first_party,
        description=description,
        cross_origin_authentication=spec.cross_origin_authentication,
        cross_origin_loc=(
            _check_urls("cross_origin_loc", [spec.cross_origin_loc])[0]
            if spec.cross_origin_loc
            else None
        ),
    )


def apply_application_changes(app: Application, changes: ApplicationChanges) -> Application:
    """The application as ``changes`` would leave it, checked like a new one."""

    def pick(name: str, current: Any) -> Any:
        value = getattr(changes, name)
        return current if value is None else value

    spec = NewApplication(
        name=pick("name", app.name),
        app_type=pick("app_type", app.app_type),
        callbacks=tuple(pick("callbacks", app.callbacks)),
        allowed_logout_urls=tuple(pick("allowed_logout_urls", app.allowed_logout_urls)),
        web_origins=tuple(pick("web_origins", app.web_origins)),
        allowed_origins=tuple(pick("allowed_origins", app.allowed_origins)),
        grant_types=tuple(pick("grant_types", app.grant_types)),
        token_endpoint_auth_method=pick(
            "token_endpoint_auth_method", app.token_endpoint_auth_method
        ),
        description=pick("description", app.description),
        is_first_party=pick("is_first_party", app.is_first_party),
        cross_origin_authentication=pick(
            "cross_origin_authentication", app.cross_origin_authentication
        ),
        cross_origin_loc=pick("cross_origin_loc", app.cross_origin_loc) or None,
    )
    checked = validate_new_application(spec)
    return replace(
        checked,
        id=app.id,
        tenant_id=app.tenant_id,
        client_id=app.client_id,
        encrypted_secret=app.encrypted_secret,
        created_at=app.created_at,
    )


@dataclass(frozen=True)
class CreatedApplication:
    application: Application
    client_secret: str | None  # shown once to the creator; also readable by read:client_keys
