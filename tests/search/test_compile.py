"""domain/user_search.compile_query: fields checked against the allow-list, values against their
field's type, and every refusal an ``invalid_query_string`` that says where."""

from __future__ import annotations

from datetime import datetime

import pytest

from tether.domain.errors import InvalidInput
from tether.domain.user_search import (
    FIELDS,
    BoolOp,
    Exists,
    FieldKind,
    Not,
    Range,
    Term,
    compile_query,
    date_window,
    field_kind,
)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('email:"jane@exampleco.com"', Term("email", "jane@exampleco.com")),
        ("name:john*", Term("name", "john", prefix=True)),
        ("jane", Term(None, "jane")),
        ("jan*", Term(None, "jan", prefix=True)),
        ('identities.connection:"google-oauth2"', Term("identities.connection", "google-oauth2")),
        ('user_metadata.full_name:"John Smith"', Term("user_metadata.full_name", "John Smith")),
        ("app_metadata.a.b-c.d_e:x", Term("app_metadata.a.b-c.d_e", "x")),
        ("logins_count:[100 TO 200]", Range("logins_count", "100", "200")),
        ("logins_count:{100 TO *]", Range("logins_count", "100", None, include_low=False)),
        ("logins_count:007", Term("logins_count", "7")),
        ("logins_count:2147483647", Term("logins_count", "2147483647")),
        ("logins_count:[* TO *]", Exists("logins_count")),
        ("email_verified:TRUE", Term("email_verified", "true")),
        ("blocked:false", Term("blocked", "false")),
        ("identities.isSocial:true", Term("identities.isSocial", "true")),
        ('email.domain:"ExampleCo.com"', Term("email.domain", "exampleco.com")),
        ("created_at:2024-05-01", Term("created_at", "2024-05-01")),
        (
            "created_at:[2024-01-01 TO 2024-02-01T10:00:00.000Z}",
            Range("created_at", "2024-01-01", "2024-02-01T10:00:00.000Z", include_high=False),
        ),
        ("_exists_:user_metadata.plan", Exists("user_metadata.plan")),
        ("last_login:*", Exists("last_login")),
        (
            "email_verified:false OR NOT _exists_:email_verified",
            BoolOp("OR", (Term("email_verified", "false"), Not(Exists("email_verified")))),
        ),
        # nested groups of the same operator flatten
        (
            "a AND (b AND (c d))",
            BoolOp("AND", (Term(None, "a"), Term(None, "b"), Term(None, "c"), Term(None, "d"))),
        ),
        (
            "a OR (b AND c)",
            BoolOp("OR", (Term(None, "a"), BoolOp("AND", (Term(None, "b"), Term(None, "c"))))),
        ),
    ],
)
def test_compiles(q: str, expected: object) -> None:
    assert compile_query(q) == expected


@pytest.mark.parametrize(
    ("q", "column", "words"),
    [
        # syntax, passed through with its column
        ("name:)", 6, "expected a value"),
        ("name:jo*hn", 8, "wildcard"),
        ("email:*@example.com", 7, "leading wildcard"),
        ("(a OR b", 1, "missing ')'"),
        ("", 1, "empty"),
        # unknown fields
        ("foo:bar", 1, "unknown field 'foo'"),
        ("a AND password:x", 7, "unknown field 'password'"),
        ("identities.access_token:x", 1, "unknown field"),
        ("email.local:x", 1, "unknown field"),
        ("_exists_:password_hash", 10, "unknown field 'password_hash'"),
        ("secret:[a TO b]", 1, "unknown field"),
        ("user_metadata:x", 1, "invalid metadata field"),
        ("user_metadata.:x", 1, "invalid metadata field"),
        ("user_metadata.a..b:x", 1, "invalid metadata field"),
        ("user_metadata.0:x", 1, "invalid metadata field"),
        ("app_metadata.a$b:x", 1, "invalid metadata field"),
        ("user_metadata." + ".".join("k" * 11) + ":x", 1, "invalid metadata field"),
        ("tenant_id:x", 1, "unknown field"),
        ("pk:x", 1, "unknown field"),
        # values of the wrong type
        ("blocked:maybe", 1, "true or false"),
        ("email_verified:1", 1, "true or false"),
        ("email_verified:tru*", 1, "prefix"),
        ("logins_count:many", 1, "whole number"),
        ("logins_count:1.5", 1, "whole number"),
        ('logins_count:"-1"', 1, "whole number"),
        ("logins_count:1*", 1, "prefix"),
        ("logins_count:99999999999999999", 1, "whole number"),
        ("logins_count:2147483648", 1, "too large"),
        ("name:a\x00b", 7, "nul"),
        ('name:"a\ud800"', 8, "surrogate"),
        ("logins_count:[a TO 5]", 1, "whole number"),
        ("logins_count:[1 TO ５]", 1, "whole number"),
        ("created_at:yesterday", 1, "iso 8601"),
        ("created_at:2024-13-01", 1, "iso 8601"),
        ("created_at:2024-02-30", 1, "iso 8601"),
        ("created_at:20240101", 1, "iso 8601"),
        ('created_at:"2024-01-01T25:00:00Z"', 1, "iso 8601"),
        ('created_at:"2024-01-01T10:00:00+24:00"', 1, "iso 8601"),
        ("created_at:2024*", 1, "prefix"),
        ("created_at:[2024-01-01 TO soon]", 1, "iso 8601"),
        ("blocked:[false TO true]", 1, "range does not apply"),
        ("email.domain:[a TO b]", 1, "range does not apply"),
    ],
)
def test_refusals_are_invalid_query_string_with_a_column(q: str, column: int, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_query(q)
    assert caught.value.code == "invalid_query_string"
    assert f"(at column {column} of q)" in caught.value.message, caught.value.message
    assert words in caught.value.message.lower(), caught.value.message


def test_unknown_field_message_lists_the_searchable_fields() -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_query("phone_number:1")
    for field in ("email", "identities.connection", "user_metadata.*", "app_metadata.*"):
        assert field in caught.value.message


def test_field_kinds() -> None:
    assert field_kind("email") is FieldKind.TEXT
    assert field_kind("user_id") is FieldKind.KEYWORD
    assert field_kind("user_metadata.plan") is FieldKind.METADATA
    assert field_kind("app_metadata.a.b") is FieldKind.METADATA
    assert field_kind("metadata.plan") is None
    assert field_kind("identities") is None
    assert set(FIELDS) >= {
        "user_id",
        "email",
        "email_verified",
        "email.domain",
        "username",
        "name",
        "given_name",
        "family_name",
        "nickname",
        "blocked",
        "created_at",
        "updated_at",
        "last_login",
        "logins_count",
        "last_ip",
        "identities.connection",
        "identities.provider",
        "identities.user_id",
        "identities.isSocial",
    }


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2024-05-01", datetime(2024, 5, 1), datetime(2024, 5, 2)),
        ("2024-12-31", datetime(2024, 12, 31), datetime(2025, 1, 1)),
        ("2024-05-01T10:30", datetime(2024, 5, 1, 10, 30), datetime(2024, 5, 1, 10, 31)),
        ("2024-05-01T10:30:05Z", datetime(2024, 5, 1, 10, 30, 5), datetime(2024, 5, 1, 10, 30, 6)),
        (
            "2024-05-01T10:30:05.250Z",
            datetime(2024, 5, 1, 10, 30, 5, 250000),
            datetime(2024, 5, 1, 10, 30, 5, 251000),
        ),
        (
            "2024-05-01T10:30:05.123456",
            datetime(2024, 5, 1, 10, 30, 5, 123456),
            datetime(2024, 5, 1, 10, 30, 5, 123457),
        ),
        ("2024-05-01T01:00:00+02:00", datetime(2024, 4, 30, 23), datetime(2024, 4, 30, 23, 0, 1)),
        ("2024-05-01T01:00:00-0130", datetime(2024, 5, 1, 2, 30), datetime(2024, 5, 1, 2, 30, 1)),
        ("2024-05-01 10:30", datetime(2024, 5, 1, 10, 30), datetime(2024, 5, 1, 10, 31)),
        ("9999-12-31", datetime(9999, 12, 31), datetime.max),
        ("2024", datetime(2024, 1, 1), datetime(2025, 1, 1)),
        ("2024-02", datetime(2024, 2, 1), datetime(2024, 3, 1)),
        ("2024-12", datetime(2024, 12, 1), datetime(2025, 1, 1)),
        ("9999-12", datetime(9999, 12, 1), datetime.max),
    ],
)
def test_date_window_spans_the_precision_given(value: str, start: datetime, end: datetime) -> None:
    assert date_window(value) == (start, end)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "202",
        "2024-5-1",
        "2024-13",
        "2024-00",
        "9999-12-31T23:59:59.9999999Z",
        "2024-05-01T10",
        "now",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_date_window_refuses(value: str) -> None:
    assert date_window(value) is None
