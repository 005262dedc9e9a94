"""Reading JSON text strictly: RFC 8259 §6 has no NaN or Infinity, and a number too large for a
double (``1e999``) would read back as one. Python's parser takes all three; stored, they make
every later rendering of the row fail (``allow_nan=False``), so they are refused on the way in."""

from __future__ import annotations

import json
import math
from typing import Any

MESSAGE = (
    "Non-finite numbers (NaN, Infinity, or too large for a double, like 1e999) are not valid JSON."
)


class NonFiniteNumber(json.JSONDecodeError):
    """A JSONDecodeError, so every caller that refuses bad JSON refuses this too."""

    def __init__(self, text: str) -> None:
        super().__init__(MESSAGE, text, 0)


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN, Infinity, -Infinity and numbers that overflow to them."""
    source = text.decode("utf-8") if isinstance(text, bytes) else text

    def refuse(_: str) -> Any:
        raise NonFiniteNumber(source)

    def finite(literal: str) -> float:
        number = float(literal)
        if not math.isfinite(number):
            raise NonFiniteNumber(source)
        return number

    return json.loads(source, parse_constant=refuse, parse_float=finite)


def has_non_finite(value: Any) -> bool:
    """Whether a decoded value holds a float JSON cannot carry."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_non_finite(v) for v in value)
    return False


def finite_or_null(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON ``null``)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value
