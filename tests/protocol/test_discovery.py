"""protocol/discovery.py: the OpenID Provider metadata (OIDC Discovery §3, RFC 8414 §2)."""

from __future__ import annotations

from tether.protocol.discovery import openid_configuration

ISSUER = "https://id.example.test/"


def test_issuer_keeps_its_trailing_slash_and_endpoints_have_no_double_slash() -> None:
    doc = openid_configuration(ISSUER)
    assert doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == "https://id.example.test/oauth/token"
    assert doc["userinfo_endpoint"] == "https://id.example.test/userinfo"
    assert doc["jwks_uri"] == "https://id.example.test/.well-known/jwks.json"
    assert doc["revocation_endpoint"] == "https://id.example.test/oauth/revoke"
    for key, value in doc.items():
        if key.endswith(("_endpoint", "_uri")):
            assert value.startswith(ISSUER), key
            assert "//" not in value.removeprefix("https://"), key


def test_only_rs256_is_offered() -> None:
    doc = openid_configuration(ISSUER)
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


def test_non_interactive_document_lists_only_what_exists() -> None:
    doc = openid_configuration(ISSUER)
    assert doc["grant_types_supported"] == [
        "client_credentials",
        "password",
        "http://auth0.com/oauth/grant-type/password-realm",
        "refresh_token",
    ]
    for absent in (
        "authorization_endpoint",
        "response_types_supported",
        "response_modes_supported",
        "code_challenge_methods_supported",
        "authorization_response_iss_parameter_supported",
        "end_session_endpoint",
        "registration_endpoint",
    ):
        assert absent not in doc, absent
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert doc["subject_types_supported"] == ["public"]
    assert set(doc["scopes_supported"]) == {"openid", "profile", "email", "offline_access"}


def test_interactive_document_adds_the_browser_endpoints() -> None:
    doc = openid_configuration(ISSUER, interactive=True)
    assert doc["authorization_endpoint"] == ISSUER + "authorize"
    assert doc["response_types_supported"] == ["code", "id_token", "token id_token", "token"]
    assert doc["code_challenge_methods_supported"] == ["S256"]  # never "plain"
    assert doc["grant_types_supported"][0] == "authorization_code"
    assert "implicit" not in doc["grant_types_supported"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert set(doc["response_modes_supported"]) == {"query", "fragment", "form_post", "web_message"}


def test_documents_do_not_share_state() -> None:
    openid_configuration(ISSUER, interactive=True)
    doc = openid_configuration(ISSUER)
    assert "authorization_code" not in doc["grant_types_supported"]
    other = openid_configuration("https://other.test/")
    assert other["token_endpoint"] == "https://other.test/oauth/token"


def test_claims_supported_is_sorted_and_has_the_standard_claims() -> None:
    claims = openid_configuration(ISSUER)["claims_supported"]
    assert claims == sorted(claims)
    assert len(claims) == len(set(claims))
    assert {"sub", "iss", "aud", "exp", "iat", "email", "email_verified", "name"} <= set(claims)
    assert "phone_number" not in claims  # no phone scope is offered
