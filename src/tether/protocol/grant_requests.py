"""The token endpoint's requests, one typed record per grant, read from its form parameters by
one registry (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6; Auth0's password-realm and passwordless OTP).

``grant_type_of`` picks the grant (``unsupported_grant_type`` for an unknown one) before the
client is authenticated; ``read_request`` then reads that grant's parameters, refusing a missing
one with ``invalid_request`` in Auth0's words. A new grant is a record, a reader and one line in
``READERS``; the domain service it calls is matched on the record's type in web."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tether.protocol.errors import UnsupportedGrantType
from tether.protocol.grants import GrantType
from tether.protocol.params import require

Params = Mapping[str, str]


@dataclass(frozen=True)
class CodeRequest:
    """RFC 6749 §4.1.3 with RFC 7636 §4.5's ``code_verifier``."""

    code: str
    redirect_uri: str | None
    code_verifier: str | None


@dataclass(frozen=True)
class ClientCredentialsRequest:
    """RFC 6749 §4.4.2, with Auth0's ``audience``."""

    audience: str | None
    scope: str | None


@dataclass(frozen=True)
class PasswordRequest:
    """RFC 6749 §4.3.2, and Auth0's password-realm grant (``realm`` names the connection)."""

    grant: GrantType
    username: str
    password: str
    realm: str | None
    scope: str | None
    audience: str | None


@dataclass(frozen=True)
class OtpRequest:
    """Auth0's passwordless OTP grant: the emailed code for ``username`` on connection ``realm``."""

    username: str
    otp: str
    realm: str
    scope: str | None
    audience: str | None


@dataclass(frozen=True)
class RefreshRequest:
    """RFC 6749 §6."""

    refresh_token: str
    scope: str | None


GrantRequest = (
    CodeRequest | ClientCredentialsRequest | PasswordRequest | OtpRequest | RefreshRequest
)


def _code(p: Params) -> CodeRequest:
    require(p, "code")
    return CodeRequest(p["code"], p.get("redirect_uri"), p.get("code_verifier"))


def _client_credentials(p: Params) -> ClientCredentialsRequest:
    return ClientCredentialsRequest(p.get("audience"), p.get("scope"))


def _password(grant: GrantType) -> Callable[[Params], PasswordRequest]:
    def read(p: Params) -> PasswordRequest:
        require(p, "username", "password")
        if grant is GrantType.PASSWORD_REALM:
            require(p, "realm")
        return PasswordRequest(
            grant, p["username"], p["password"], p.get("realm"), p.get("scope"), p.get("audience")
        )

    return read


def _otp(p: Params) -> OtpRequest:
    require(p, "username", "otp", "realm")
    return OtpRequest(p["username"], p["otp"], p["realm"], p.get("scope"), p.get("audience"))


def _refresh(p: Params) -> RefreshRequest:
    require(p, "refresh_token")
    return RefreshRequest(p["refresh_token"], p.get("scope"))


#: Every grant the token endpoint serves, and how its request is read.
READERS: dict[GrantType, Callable[[Params], GrantRequest]] = {
    GrantType.AUTHORIZATION_CODE: _code,
    GrantType.CLIENT_CREDENTIALS: _client_credentials,
    GrantType.PASSWORD: _password(GrantType.PASSWORD),
    GrantType.PASSWORD_REALM: _password(GrantType.PASSWORD_REALM),
    GrantType.PASSWORDLESS_OTP: _otp,
    GrantType.REFRESH_TOKEN: _refresh,
}


def grant_type_of(params: Params) -> GrantType:
    """RFC 6749 §5.2: ``grant_type`` is required, and one this server serves."""
    require(params, "grant_type")
    grant = GrantType.parse(params["grant_type"])
    if grant is None or grant not in READERS:
        raise UnsupportedGrantType(f"Unsupported grant type: {params['grant_type']}")
    return grant


def read_request(grant: GrantType, params: Params) -> GrantRequest:
    """The grant's typed request; ``invalid_request`` names the first missing parameter."""
    return READERS[grant](params)
