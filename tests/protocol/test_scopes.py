"""protocol/scopes.py: scope strings (RFC 6749 §3.3) and the claims they release (OIDC §5.4)."""

from __future__ import annotations

import pytest

from tether.protocol.errors import InvalidScope
from tether.protocol.scopes import (
    OIDC_SCOPES,
    SCOPE_CLAIMS,
    claims_for_scopes,
    join_scope,
    parse_scope,
)


@pytest.mark.parametrize("value", [None, "", " ", "   "])
def test_empty_scope_is_no_scope(value: str | None) -> None:
    assert parse_scope(value) == []


def test_parse_keeps_order() -> None:
    assert parse_scope("openid read:users profile") == ["openid", "read:users", "profile"]


def test_parse_drops_duplicates_keeping_the_first() -> None:
    assert parse_scope("email openid email profile openid") == ["email", "openid", "profile"]


def test_parse_ignores_repeated_and_edge_spaces() -> None:
    assert parse_scope("  openid   email ") == ["openid", "email"]


def test_parse_accepts_every_allowed_character() -> None:
    allowed = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
    assert parse_scope(allowed) == [allowed]


@pytest.mark.parametrize(
    "value",
    ['openid "email"', "openid back\\slash", "openid é", "openid\temail", "a\x00", "a\x7f", "a\nb"],
)
def test_parse_refuses_characters_outside_the_grammar(value: str) -> None:
    with pytest.raises(InvalidScope) as info:
        parse_scope(value)
    assert info.value.error == "invalid_scope"
    assert info.value.status_code == 400


def test_join_is_the_inverse_of_parse() -> None:
    scopes = ["openid", "profile", "read:users"]
    assert join_scope(scopes) == "openid profile read:users"
    assert parse_scope(join_scope(scopes)) == scopes


def test_claims_for_scopes_always_has_sub() -> None:
    assert claims_for_scopes([]) == {"sub"}
    assert claims_for_scopes(["openid"]) == {"sub"}
    assert claims_for_scopes(["read:users", "offline_access"]) == {"sub"}


def test_claims_for_scopes_follow_oidc_core_5_4() -> None:
    assert claims_for_scopes(["email"]) == {"sub", "email", "email_verified"}
    assert claims_for_scopes(["phone"]) == {"sub", "phone_number", "phone_number_verified"}
    assert claims_for_scopes(["address"]) == {"sub", "address"}
    profile = claims_for_scopes(["profile"])
    assert {"name", "nickname", "picture", "updated_at", "given_name", "family_name"} <= profile
    assert "email" not in profile
    assert claims_for_scopes(["profile", "email"]) == profile | {"email", "email_verified"}


def test_oidc_scopes() -> None:
    assert {"openid", "offline_access", *SCOPE_CLAIMS} == OIDC_SCOPES
    assert "read:users" not in OIDC_SCOPES
