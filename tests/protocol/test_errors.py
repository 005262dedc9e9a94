"""protocol/errors.py: wire codes, HTTP status codes (auth0-wire.md §3.1) and bodies."""

from __future__ import annotations

import pytest

from tether.protocol import errors as e

EXPECTED = [
    (e.InvalidRequest, "invalid_request", 400),
    (e.InvalidClient, "invalid_client", 401),
    (e.InvalidGrant, "invalid_grant", 403),
    (e.UnauthorizedClient, "unauthorized_client", 403),
    (e.AccessDenied, "access_denied", 403),
    (e.UnsupportedGrantType, "unsupported_grant_type", 400),
    (e.InvalidScope, "invalid_scope", 400),
    (e.InvalidToken, "invalid_token", 401),
    (e.TooManyRequests, "too_many_requests", 429),
    (e.TooManyAttempts, "too_many_attempts", 429),
    (e.EndpointDisabled, "endpoint_disabled", 404),
    (e.TemporarilyUnavailable, "temporarily_unavailable", 503),
    (e.ServerError, "server_error", 500),
]


@pytest.mark.parametrize(("cls", "code", "status"), EXPECTED)
def test_code_status_and_body(cls: type[e.OAuth2Error], code: str, status: int) -> None:
    error = cls("Something precise.")
    assert isinstance(error, e.OAuth2Error)
    assert error.error == code
    assert error.status_code == status
    assert error.body() == {"error": code, "error_description": "Something precise."}
    assert str(error) == f"{code}: Something precise."


@pytest.mark.parametrize(("cls", "code", "status"), EXPECTED)
def test_body_always_has_both_keys_as_strings(
    cls: type[e.OAuth2Error], code: str, status: int
) -> None:
    body = cls().body()
    assert set(body) == {"error", "error_description"}
    assert all(isinstance(v, str) for v in body.values())


def test_default_descriptions() -> None:
    assert e.InvalidClient().description == "Client authentication failed."
    assert e.TooManyAttempts().description.startswith("Too many failed sign-in attempts")
    assert e.ServerError().description == "Something went wrong on our side."
    assert e.InvalidRequest().description == ""


def test_an_empty_description_is_kept_not_replaced_by_the_default() -> None:
    assert e.InvalidClient("").description == ""


def test_headers_are_copied() -> None:
    given = {"Retry-After": "30"}
    error = e.TooManyRequests(headers=given)
    given["Retry-After"] = "0"
    assert error.headers == {"Retry-After": "30"}
    assert e.InvalidRequest().headers == {}


def test_wire_codes_are_distinct_per_class() -> None:
    codes = [code for _, code, _ in EXPECTED]
    assert len(codes) == len(set(codes))
