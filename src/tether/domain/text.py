"""Strings a column can hold: the one check every service applies to names and descriptions."""

from __future__ import annotations

import unicodedata

from tether.domain.errors import InvalidInput


def check_text(
    field: str, value: str, *, max_length: int, min_length: int = 0, single_line: bool = True
) -> str:
    """A string a column can hold: no NUL or other control characters (line breaks allowed
    when not ``single_line``), no lone surrogates, at most ``max_length`` characters."""
    if not min_length <= len(value) <= max_length:
        if min_length:
            raise InvalidInput(f"{field}: must be {min_length} to {max_length} characters.")
        raise InvalidInput(f"{field}: must be at most {max_length} characters.")
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs" or (category == "Cc" and (single_line or ch not in "\n\r\t")):
            raise InvalidInput(f"{field}: must not contain control characters.")
    return value
