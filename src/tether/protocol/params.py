"""Request parameters as Auth0's SDKs send them.

auth0-python sends JSON with ``null`` for every unset field; spa-js sends forms. Both arrive
here as one mapping. RFC 6749 §3.2: parameters without a value are treated as omitted, so
``null`` and ``""`` both mean absent (auth0-wire.md §3.3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tether.protocol.errors import InvalidRequest

MAX_PARAM_LENGTH = 8192


#: C0 controls but tab, CR and LF, and DEL: what no parameter may carry. A regular expression,
#: not a loop over characters: it runs on every parameter of every token request.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _has_control_chars(value: str) -> bool:
    return _CONTROL.search(value) is not None


def normalise(raw: Mapping[str, Any]) -> dict[str, str]:
    """Drop absent values; insist the rest are short strings without control characters.

    Numbers and booleans are turned into strings (JSON clients are loose); lists and objects are
    refused, because no token parameter is structured.
    """
    params: dict[str, str] = {}
    for name, value in raw.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif not isinstance(value, str):
            raise InvalidRequest(f"The parameter {name} must be a string.")
        if len(value) > MAX_PARAM_LENGTH:
            raise InvalidRequest(f"The parameter {name} is too long.")
        if _has_control_chars(value):
            raise InvalidRequest(f"The parameter {name} has characters that are not allowed.")
        params[name] = value
    return params


def require(params: Mapping[str, str], *names: str) -> None:
    """RFC 6749 §5.2 invalid_request for a missing parameter, in Auth0's phrasing."""
    for name in names:
        if name not in params:
            raise InvalidRequest(f"Missing required parameter: {name}")
