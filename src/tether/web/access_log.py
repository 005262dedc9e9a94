"""The access log without secrets (OWASP ASVS 16.2.5: logs hold no credentials or tokens).

uvicorn's access log records each request's path with its query string, and Tether's query
strings carry secrets: ``/lo/reset?ticket=...`` (valid for an hour), ``/login/callback?code=...``,
``/u/passwordless/link?...``, ``state`` handles of parked sign-ins. This filter keeps each
parameter's name and replaces every value with ``[redacted]``, except for a few names whose values
are never secret and help reading the log.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

#: Query parameters whose values are shown; everything else is redacted.
SHOWN = frozenset(
    {
        "client_id",
        "response_type",
        "response_mode",
        "scope",
        "prompt",
        "connection",
        "screen_hint",
        "audience",
        "code_challenge_method",
        "page",
        "per_page",
        "include_totals",
        "include_fields",
        "fields",
        "sort",
        "search_engine",
        "msg",
    }
)
REDACTED = "[redacted]"
ACCESS_LOGGER = "uvicorn.access"


def redact_path(full_path: str) -> str:
    """``/lo/reset?ticket=abc`` -> ``/lo/reset?ticket=[redacted]``."""
    path, sep, query = full_path.partition("?")
    if not sep:
        return full_path
    shown = []
    for pair in query.split("&"):
        name, has_value, value = pair.partition("=")
        if not has_value:
            # A bare word (``?abc``) may itself be the secret.
            shown.append(REDACTED if name else "")
        elif name in SHOWN:
            shown.append(pair)
        else:
            shown.append(f"{quote(name[:64], safe='')}={REDACTED}")
    return f"{path}?{'&'.join(shown)}"


class RedactQuery(logging.Filter):
    """uvicorn.access records carry (client, method, full_path, http_version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter once to uvicorn's access logger (each worker process calls this)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQuery) for f in logger.filters):
        logger.addFilter(RedactQuery())
