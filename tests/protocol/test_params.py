"""protocol/params.py: request parameters as Auth0's SDKs send them (auth0-wire.md §3.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tether.protocol.errors import InvalidRequest
from tether.protocol.params import MAX_PARAM_LENGTH, normalise, require


def test_null_and_empty_string_mean_absent() -> None:
    params = normalise({"client_id": "abc", "scope": None, "audience": "", "realm": None})
    assert params == {"client_id": "abc"}


def test_whitespace_is_a_value_not_absence() -> None:
    assert normalise({"scope": " "}) == {"scope": " "}


def test_strings_pass_through_unchanged() -> None:
    raw = {"username": "Ann@Example.com", "password": "päss wörd ✓", "scope": "openid profile"}
    assert normalise(raw) == raw


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "true"), (False, "false"), (0, "0"), (42, "42"), (1.5, "1.5")],
)
def test_numbers_and_booleans_become_strings(value: Any, expected: str) -> None:
    assert normalise({"x": value}) == {"x": expected}


@pytest.mark.parametrize("value", [["a"], {"a": "b"}, ("a",), b"bytes", object()])
def test_structured_and_other_non_string_values_are_refused(value: Any) -> None:
    with pytest.raises(InvalidRequest) as info:
        normalise({"scope": value})
    assert "scope" in info.value.description
    assert info.value.status_code == 400


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
def test_control_characters_are_refused(char: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        normalise({"username": f"ann{char}@example.com"})
    assert "username" in info.value.description


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_tab_and_line_breaks_are_allowed(char: str) -> None:
    assert normalise({"password": f"a{char}b"}) == {"password": f"a{char}b"}


def test_length_limit() -> None:
    assert MAX_PARAM_LENGTH == 8192
    assert normalise({"p": "x" * MAX_PARAM_LENGTH})["p"] == "x" * MAX_PARAM_LENGTH
    with pytest.raises(InvalidRequest) as info:
        normalise({"p": "x" * (MAX_PARAM_LENGTH + 1)})
    assert "too long" in info.value.description


def test_require_names_the_first_missing_parameter() -> None:
    require({"a": "1", "b": "2"}, "a", "b")
    with pytest.raises(InvalidRequest) as info:
        require({"a": "1"}, "a", "b", "c")
    assert info.value.description == "Missing required parameter: b"


def test_a_null_required_parameter_is_missing() -> None:
    with pytest.raises(InvalidRequest):
        require(normalise({"grant_type": None}), "grant_type")
