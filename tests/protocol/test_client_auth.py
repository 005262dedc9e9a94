"""protocol/client_auth.py: client_secret_basic, client_secret_post and none (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from tether.protocol.client_auth import ClientCredentials, extract
from tether.protocol.errors import InvalidClient, InvalidRequest


def basic(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return "Basic " + base64.b64encode(data).decode()


def test_basic_header() -> None:
    assert extract(basic("client:secret"), {}) == ClientCredentials(
        "client", "secret", "client_secret_basic"
    )


def test_basic_scheme_is_case_insensitive() -> None:
    header = basic("client:secret")
    for scheme in ("basic", "BASIC", "bAsIc"):
        assert extract(scheme + header[5:], {}).client_id == "client"


def test_basic_with_url_encoded_id_and_secret() -> None:
    """RFC 6749 §2.3.1: both are form-urlencoded before they are joined with a colon."""
    cid, secret = "my:client/é", "p@ss:w%rd é"
    creds = extract(basic(f"{quote(cid, safe='')}:{quote(secret, safe='')}"), {})
    assert (creds.client_id, creds.client_secret) == (cid, secret)


def test_basic_secret_may_hold_a_raw_colon() -> None:
    creds = extract(basic("client:a:b:c"), {})
    assert (creds.client_id, creds.client_secret) == ("client", "a:b:c")


def test_basic_with_an_empty_secret_is_still_basic() -> None:
    assert extract(basic("client:"), {}) == ClientCredentials("client", "", "client_secret_basic")


def test_basic_with_matching_client_id_in_body_is_fine() -> None:
    creds = extract(basic("client:secret"), {"client_id": "client"})
    assert creds.method == "client_secret_basic"


def test_basic_with_a_different_client_id_in_body_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        extract(basic("client:secret"), {"client_id": "someone-else"})


def test_basic_and_a_body_secret_at_once_is_refused() -> None:
    with pytest.raises(InvalidRequest) as info:
        extract(basic("client:secret"), {"client_id": "client", "client_secret": "secret"})
    assert info.value.error == "invalid_request"


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":secret-without-id").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic Y2xpZW50OnNlY3JldA",  # valid text, missing padding
        "Basic ",
    ],
)
def test_malformed_basic_header_is_invalid_client(header: str) -> None:
    with pytest.raises(InvalidClient) as info:
        extract(header, {})
    assert info.value.status_code == 401


def test_client_secret_post() -> None:
    assert extract(None, {"client_id": "client", "client_secret": "s"}) == ClientCredentials(
        "client", "s", "client_secret_post"
    )


def test_public_client_sends_only_its_id() -> None:
    assert extract(None, {"client_id": "spa"}) == ClientCredentials("spa", None, "none")


def test_no_client_id_anywhere_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as info:
        extract(None, {"client_secret": "s"})
    assert info.value.description == "Missing required parameter: client_id"


def test_other_authorization_schemes_are_ignored() -> None:
    creds = extract("Bearer abc.def.ghi", {"client_id": "c", "client_secret": "s"})
    assert creds.method == "client_secret_post"
    with pytest.raises(InvalidRequest):
        extract("Bearer abc.def.ghi", {})
