"""Writing users out as Auth0's export file does: newline-delimited JSON or CSV, gzipped.

Auth0, "Bulk User Exports": ``fields`` is a list of ``{"name", "export_as"}``; ``name`` is a user
attribute, a dotted path into metadata (``user_metadata.plan``) or ``identities[0].connection``;
``export_as`` is the key (JSON) or the column title (CSV). A user is one line, whatever its
linked identities. CSV cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'`` (OWASP, "CSV Injection").
No password hash is part of a user's view, so none can be exported.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

from tether.domain.errors import InvalidInput
from tether.domain.models import Identity, User, iso8601
from tether.protocol import json_text

FORMATS = ("json", "csv")
DEFAULT_FIELDS = (
    "user_id",
    "email",
    "email_verified",
    "username",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
    "blocked",
)
MAX_FIELDS = 100
_PATH = re.compile(r"^[A-Za-z0-9_$-]+(\[\d{1,3}\])?(\.[A-Za-z0-9_$-]+(\[\d{1,3}\])?)*$")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def check_fields(fields: Any) -> list[dict[str, str]] | None:
    """Auth0's ``fields``: a list of ``{"name", "export_as"?}``; None means the defaults."""
    if fields is None:
        return None
    if not isinstance(fields, list) or not fields or len(fields) > MAX_FIELDS:
        raise InvalidInput(
            f"Payload validation error: 'fields' must be a list of 1 to {MAX_FIELDS} objects."
        )
    out = []
    for item in fields:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInput("Payload validation error: each field needs a 'name'.")
        name = item["name"]
        export_as = item.get("export_as", name)
        if not _PATH.match(name) or len(name) > 200:
            raise InvalidInput(f"Payload validation error: '{name[:60]}' is not a field name.")
        if not isinstance(export_as, str) or not export_as or len(export_as) > 200:
            raise InvalidInput("Payload validation error: 'export_as' must be a short string.")
        out.append({"name": name, "export_as": export_as})
    return out


def pick(view: dict[str, Any], path: str) -> Any:
    value: Any = view
    for key, index in _STEP.findall(path):
        if key:
            value = value.get(key) if isinstance(value, dict) else None
        else:
            value = (
                value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
            )
        if value is None:
            return None
    return value


def _identity(identity: Identity) -> dict[str, Any]:
    """An ``identities[]`` item of the export file: a linked (non-primary) identity carries its
    ``profileData``, as in Auth0's user object."""
    item: dict[str, Any] = {
        "connection": identity.connection_name,
        "provider": identity.provider,
        "user_id": identity.subject,
        "isSocial": identity.is_social,
    }
    if not identity.is_primary and identity.profile_data:
        item["profileData"] = dict(identity.profile_data)
    return item


def export_view(user: User) -> dict[str, Any]:
    """A line of Auth0's export file: the user object's fields (the export format is this use
    case's own, so it has its own writer), without a walk for non-finite numbers (60% of an
    export's time): ``_dumps`` refuses them (``allow_nan=False``) and only then falls back to
    showing them as null."""
    primary_first = sorted(user.identities, key=lambda i: not i.is_primary)
    view: dict[str, Any] = {
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "name": user.name or user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "nickname": user.nickname or (user.email.split("@")[0] if user.email else None),
        "picture": user.picture,
        "created_at": iso8601(user.created_at),
        "updated_at": iso8601(user.updated_at),
        "identities": [_identity(i) for i in primary_first],
        "user_metadata": user.user_metadata,
        "app_metadata": user.app_metadata,
        "last_login": iso8601(user.last_login),
        "last_ip": user.last_ip,
        "logins_count": user.logins_count,
        "blocked": True if user.blocked else None,
    }
    return {k: v for k, v in view.items() if v is not None}


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a non-finite number stored some other way: null, as the API shows it
        return json.dumps(
            json_text.finite_or_null(value), ensure_ascii=False, separators=(",", ":")
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list):
        text = _dumps(value)
    elif isinstance(value, float):
        text = _dumps(json_text.finite_or_null(value))
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


class Writer:
    """Turns users into gzipped bytes, a batch at a time (constant memory)."""

    def __init__(self, format_: str, fields: Sequence[dict[str, str]] | None):
        self.format = format_
        self.fields = list(fields) if fields else None
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip member
        self._started = False

    def _columns(self) -> list[dict[str, str]]:
        return self.fields or [{"name": n, "export_as": n} for n in DEFAULT_FIELDS]

    def rows(self, users: Sequence[User]) -> bytes:
        """The uncompressed text of ``users`` (and the CSV header before the first)."""
        if self.format == "csv":
            buffer = io.StringIO()
            out = csv.writer(buffer, lineterminator="\n")
            columns = self._columns()
            if not self._started:
                out.writerow([_cell(c["export_as"]) for c in columns])
            for user in users:
                view = export_view(user)
                out.writerow([_cell(pick(view, c["name"])) for c in columns])
            self._started = True
            return buffer.getvalue().encode("utf-8")
        self._started = True
        lines = []
        for user in users:
            view = export_view(user)
            if self.fields:
                record = {}
                for c in self.fields:
                    value = pick(view, c["name"])
                    if value is not None:
                        record[c["export_as"]] = value
            else:
                record = view
            lines.append(_dumps(record))
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

    def compress(self, users: Sequence[User]) -> bytes:
        return self._gzip.compress(self.rows(users))

    def finish(self) -> bytes:
        tail = b"" if self._started else self.rows([])  # a CSV of no users still has its header
        return self._gzip.compress(tail) + self._gzip.flush()
