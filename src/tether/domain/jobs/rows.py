"""One row of a users file, checked against Auth0's bulk-import user schema.

Auth0, "Bulk User Import Database Schema and Examples": ``email`` (format email),
``email_verified``, ``user_id`` (prefixed with the connection's strategy), ``username``,
``given_name``, ``family_name``, ``name``, ``nickname``, ``picture``, ``blocked``,
``password_hash`` (bcrypt), ``custom_password_hash`` (mutually exclusive with it),
``app_metadata`` and ``user_metadata``. A failed row is reported with Auth0's job error codes
(``INVALID_TYPE``, ``FORMAT``, ``OBJECT_REQUIRED``, ``MAX_LENGTH``, ``PATTERN``, ``NOT_PASSED``...)
and a copy of the row whose hash values are redacted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tether.domain import legacy_hashes
from tether.domain.errors import InvalidInput
from tether.domain.models.jobs import RowError
from tether.domain.users import normalise_email

REDACTED = "[REDACTED]"
STRINGS = {
    "user_id": 255,
    "username": 128,
    "given_name": 150,
    "family_name": 150,
    "name": 300,
    "nickname": 300,
    "picture": 2048,
}
BOOLEANS = ("email_verified", "blocked")
METADATA_BYTES = 16 * 1024  # Auth0's limit on each metadata object
#: Auth0: app_metadata must not hold these properties.
APP_METADATA_RESERVED = frozenset(
    {
        "__tenant",
        "_id",
        "blocked",
        "clientID",
        "created_at",
        "email_verified",
        "email",
        "globalClientID",
        "global_client_id",
        "identities",
        "lastIP",
        "lastLogin",
        "loginsCount",
        "metadata",
        "multifactor_last_modified",
        "multifactor",
        "updated_at",
        "user_id",
    }
)
_BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The strategy prefix of a database connection's user ids. Auth0's export writes ``auth0|<id>``;
#: Auth0's import would prepend it again (``auth0|auth0|<id>``: its docs say to strip it first).
#: Tether takes it off, so an export goes back in as it is and user ids survive the move (a
#: deliberate difference, README "Moving from Auth0"); a ``|`` left over is another provider's.
DATABASE_PREFIX = "auth0|"
#: A credential that never verifies: an imported user without a hash sets a password by reset.
NO_PASSWORD = "!"


@dataclass
class ImportRow:
    """A row that passed: normalised fields, and the hash to store (None: keep / no password)."""

    email: str
    fields: dict[str, Any] = field(default_factory=dict)
    password_hash: str | None = None


def redact(row: Any) -> Any:
    """The row as sent, minus every hash, salt and key value (they are credentials)."""
    if not isinstance(row, dict):
        return row
    out = dict(row)
    if "password_hash" in out:
        out["password_hash"] = REDACTED
    if "custom_password_hash" in out:
        out["custom_password_hash"] = _redact_values(out["custom_password_hash"])
    return out


def _redact_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if k == "value" else _redact_values(v)
            for k, v in value.items()
            if isinstance(k, str)
        }
    return REDACTED if not isinstance(value, list) else [REDACTED]


def check(row: Any) -> ImportRow | list[RowError]:
    """The row as an ``ImportRow``, or every problem found in it."""
    if not isinstance(row, dict):
        return [RowError("INVALID_TYPE", "Expected type object but found another type", "")]
    errors: list[RowError] = []
    fields: dict[str, Any] = {}
    email: str | None = None
    if "email" not in row:
        errors.append(RowError("OBJECT_REQUIRED", "Missing required property: email", "email"))
    else:
        try:
            email = normalise_email(row["email"])
        except InvalidInput:
            errors.append(
                RowError(
                    "FORMAT",
                    "Error in email property - Object didn't pass validation for format email",
                    "email",
                )
            )
    for name, limit in STRINGS.items():
        if name not in row:
            continue
        value = row[name]
        if name == "user_id" and isinstance(value, str) and value.startswith(DATABASE_PREFIX):
            value = value[len(DATABASE_PREFIX) :]
        if not isinstance(value, str):
            errors.append(_type_error(name, "string"))
        elif len(value) > limit:
            errors.append(
                RowError(
                    "MAX_LENGTH", f"String is too long ({len(value)} chars), maximum {limit}", name
                )
            )
        elif name == "user_id" and ("|" in value or not value):
            # another provider's id ("google-oauth2|...") is not a database connection's
            errors.append(
                RowError(
                    "PATTERN",
                    f"user_id must be the id alone or prefixed with {DATABASE_PREFIX}",
                    name,
                )
            )
        elif _CONTROL.search(value):
            errors.append(RowError("PATTERN", "String does not match the allowed pattern", name))
        else:
            fields[name] = value
    for name in BOOLEANS:
        if name in row:
            if isinstance(row[name], bool):
                fields[name] = row[name]
            else:
                errors.append(_type_error(name, "boolean"))
    for name in ("user_metadata", "app_metadata"):
        if name in row:
            problem = _metadata_problem(name, row[name])
            if problem:
                errors.append(problem)
            else:
                fields[name] = row[name]
    password_hash: str | None = None
    if "password_hash" in row and "custom_password_hash" in row:
        errors.append(
            RowError(
                "NOT_PASSED",
                "password_hash and custom_password_hash are mutually exclusive",
                "custom_password_hash",
            )
        )
    elif "password_hash" in row:
        value = row["password_hash"]
        if not isinstance(value, str):
            errors.append(_type_error("password_hash", "string"))
        elif not _BCRYPT.match(value):
            errors.append(
                RowError(
                    "PATTERN", "password_hash must be a bcrypt hash ($2a$ or $2b$)", "password_hash"
                )
            )
        else:
            password_hash = value
    elif "custom_password_hash" in row:
        try:
            password_hash = legacy_hashes.encode(row["custom_password_hash"])
        except legacy_hashes.LegacyHashError as exc:
            errors.append(RowError(exc.code, exc.message, exc.path))
    if errors or email is None:
        return errors
    return ImportRow(email=email, fields=fields, password_hash=password_hash)


def _type_error(name: str, expected: str) -> RowError:
    return RowError("INVALID_TYPE", f"Expected type {expected} but found another type", name)


def _metadata_problem(name: str, value: Any) -> RowError | None:
    if not isinstance(value, dict):
        return _type_error(name, "object")
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (ValueError, UnicodeEncodeError, RecursionError):
        return RowError("FORMAT", f"{name} is not valid JSON text", name)
    if size > METADATA_BYTES:
        return RowError("MAX_LENGTH", f"{name} is larger than {METADATA_BYTES} bytes", name)
    if "\\u0000" in json.dumps(value):
        # PostgreSQL's jsonb refuses \u0000
        return RowError("PATTERN", f"{name} must not contain NUL characters", name)
    if name == "app_metadata":
        reserved = sorted(APP_METADATA_RESERVED.intersection(value))
        if reserved:
            return RowError(
                "NOT_PASSED", f"app_metadata must not contain {', '.join(reserved)}", name
            )
    return None
