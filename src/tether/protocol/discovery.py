"""The OpenID Provider metadata document (OIDC Discovery 1.0 §3, RFC 8414 §2).

Only what Tether really supports is listed.
"""

from __future__ import annotations

from typing import Any

from tether.protocol.grants import GrantType
from tether.protocol.scopes import SCOPE_CLAIMS


def openid_configuration(issuer: str, *, interactive: bool = False) -> dict[str, Any]:
    """The discovery document for ``issuer`` (which ends with ``/``).

    ``interactive`` turns on the browser endpoints once /authorize exists.
    """
    doc: dict[str, Any] = {
        "issuer": issuer,
        "token_endpoint": issuer + "oauth/token",
        "userinfo_endpoint": issuer + "userinfo",
        "jwks_uri": issuer + ".well-known/jwks.json",
        "revocation_endpoint": issuer + "oauth/revoke",
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "grant_types_supported": [
            GrantType.CLIENT_CREDENTIALS.value,
            GrantType.PASSWORD.value,
            GrantType.PASSWORD_REALM.value,
            GrantType.REFRESH_TOKEN.value,
        ],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        # "none": public clients (spa, native) redeem a code with PKCE and no secret.
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "claims_supported": sorted(
            {"aud", "auth_time", "exp", "iat", "iss", "sub", "sid", "nonce"}
            | {c for k in ("profile", "email") for c in SCOPE_CLAIMS[k]}
        ),
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
    if interactive:
        doc["authorization_endpoint"] = issuer + "authorize"
        # /authorize serves these four (protocol.authorize.normalise_response_type); the
        # implicit three only to apps with the implicit grant. Auth0 spells it "token id_token".
        doc["response_types_supported"] = ["code", "id_token", "token id_token", "token"]
        doc["response_modes_supported"] = ["query", "fragment", "form_post", "web_message"]
        doc["code_challenge_methods_supported"] = ["S256"]
        doc["grant_types_supported"].insert(0, GrantType.AUTHORIZATION_CODE.value)
        doc["authorization_response_iss_parameter_supported"] = True
        doc["end_session_endpoint"] = issuer + "oidc/logout"
    else:
        del doc["response_types_supported"]
    return doc
