"""A user search query, as the domain understands it: a tree of field conditions that storage
turns into SQL with bound parameters (never string concatenation).

:func:`compile_query` builds this tree from Auth0's Lucene ``q`` (parsed by protocol/lucene.py,
then checked here against the searchable fields and their types); ``GET /api/v2/users?q=`` and
the CLI's ``users search`` use it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Literal

from tether.domain.errors import InvalidInput
from tether.protocol import lucene

Field = str  # e.g. "email", "user_metadata.plan", "identities.connection"


@dataclass(frozen=True)
class Term:
    """``field:value``; ``prefix`` for ``value*``; ``field=None`` searches name, email, nickname."""

    field: Field | None
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class Range:
    field: Field
    low: str | None
    high: str | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class Exists:
    field: Field


@dataclass(frozen=True)
class Not:
    operand: Query


@dataclass(frozen=True)
class BoolOp:
    op: Literal["AND", "OR"]
    operands: tuple[Query, ...]


Query = Term | Range | Exists | Not | BoolOp


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool = False


SORTABLE = frozenset(
    {
        "created_at",
        "updated_at",
        "last_login",
        "logins_count",
        "email",
        "name",
        "user_id",
        "nickname",
    }
)


# -- compiling ``q`` -------------------------------------------------------------------------


class FieldKind(Enum):
    """How a searchable field compares; storage maps each field to SQL by its kind."""

    TEXT = "text"  # a string compared case-insensitively (email, names)
    KEYWORD = "keyword"  # a string compared exactly (user_id, last_ip, identities.*)
    DOMAIN = "domain"  # email.domain: the part of the email after '@', case-insensitively
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DATE = "date"
    METADATA = "metadata"  # a path into user_metadata / app_metadata (a JSON value)


FIELDS: dict[str, FieldKind] = {
    "user_id": FieldKind.KEYWORD,
    "email": FieldKind.TEXT,
    "email_verified": FieldKind.BOOLEAN,
    "email.domain": FieldKind.DOMAIN,
    "username": FieldKind.TEXT,
    "name": FieldKind.TEXT,
    "given_name": FieldKind.TEXT,
    "family_name": FieldKind.TEXT,
    "nickname": FieldKind.TEXT,
    "blocked": FieldKind.BOOLEAN,
    "created_at": FieldKind.DATE,
    "updated_at": FieldKind.DATE,
    "last_login": FieldKind.DATE,
    "logins_count": FieldKind.INTEGER,
    "last_ip": FieldKind.KEYWORD,
    "identities.connection": FieldKind.KEYWORD,
    "identities.provider": FieldKind.KEYWORD,
    "identities.user_id": FieldKind.KEYWORD,
    "identities.isSocial": FieldKind.BOOLEAN,
}
"""Every searchable field but metadata paths, and its kind."""

METADATA_ROOTS = ("user_metadata", "app_metadata")
METADATA_MAX_DEPTH = 10
_METADATA_KEY = re.compile(r"[A-Za-z0-9_-]+")

BARE_WORD_FIELDS = ("name", "email", "nickname")
"""What a bare word (no ``field:``) is matched against."""

MAX_INTEGER = 2**31 - 1
"""logins_count is a 32-bit column on PostgreSQL: a larger bound would fail there, not match."""
_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?"
)
_BOOLEANS = {"true": "true", "false": "false"}


def field_kind(field: str) -> FieldKind | None:
    """The kind of a searchable field, or None if it cannot be searched."""
    kind = FIELDS.get(field)
    if kind is not None:
        return kind
    root, _, path = field.partition(".")
    if root in METADATA_ROOTS and path:
        keys = path.split(".")
        if len(keys) <= METADATA_MAX_DEPTH and all(
            _METADATA_KEY.fullmatch(key) and not key.isdigit() for key in keys
        ):
            return FieldKind.METADATA
    return None


def metadata_path(field: str) -> tuple[str, tuple[str, ...]]:
    """``user_metadata.a.b`` -> ``("user_metadata", ("a", "b"))``."""
    root, _, path = field.partition(".")
    return root, tuple(path.split("."))


def date_window(value: str) -> tuple[datetime, datetime] | None:
    """The span of naive UTC time an ISO-8601 date or date-time names, to its precision:
    ``2024`` is that year, ``2024-05`` that month (Auth0's ``last_login:[* TO 2017-12]``),
    ``2024-05-01`` that day, ``2024-05-01T10:00Z`` that minute, ``...T10:00:00.250Z`` that
    millisecond. None if ``value`` is not such a date."""
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        start = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            if offset >= timedelta(hours=24):
                return None
            start = start - sign * offset
    except (ValueError, OverflowError):
        return None
    try:
        if month is None:
            return start, start.replace(year=start.year + 1)
        if day is None:
            following = start.month % 12 + 1
            return start, start.replace(year=start.year + (following == 1), month=following)
        if hour is None:
            step = timedelta(days=1)
        elif second is None:
            step = timedelta(minutes=1)
        elif fraction is None:
            step = timedelta(seconds=1)
        else:
            step = timedelta(microseconds=10 ** (6 - len(fraction)))
        return start, start + step
    except (ValueError, OverflowError):  # the last span of 9999
        return start, datetime.max


def as_number(value: str) -> float | None:
    """``value`` as a finite number, or None (for metadata, which may hold JSON numbers)."""
    if not _NUMBER.fullmatch(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


_NUMBER = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?(?:[eE][+-]?\d{1,3})?")


class _Compiler:
    def __init__(self, q: str):
        self.q = q

    def fail(self, message: str, position: int) -> InvalidInput:
        return InvalidInput(
            f"Invalid query string: {message} (at column {position + 1} of q)",
            code="invalid_query_string",
        )

    def node(self, node: lucene.Node) -> Query:
        if isinstance(node, lucene.BoolNode):
            operands: list[Query] = []
            for operand in node.operands:
                compiled = self.node(operand)
                if isinstance(compiled, BoolOp) and compiled.op == node.op:
                    operands.extend(compiled.operands)
                else:
                    operands.append(compiled)
            return BoolOp(node.op, tuple(operands))
        if isinstance(node, lucene.NotNode):
            return Not(self.node(node.operand))
        if isinstance(node, lucene.ExistsNode):
            self.kind(node.field, node.position)
            return Exists(node.field)
        if isinstance(node, lucene.RangeNode):
            return self.range(node)
        return self.term(node)

    def kind(self, field: str, position: int) -> FieldKind:
        kind = field_kind(field)
        if kind is None:
            if field.partition(".")[0] in METADATA_ROOTS:
                raise self.fail(
                    f"invalid metadata field {field!r}: use {field.partition('.')[0]}.<key>"
                    f"[.<key>...], keys of letters, digits, '_' or '-', at most "
                    f"{METADATA_MAX_DEPTH} deep",
                    position,
                )
            raise self.fail(
                f"unknown field {field!r}; searchable fields are {', '.join(FIELDS)}, "
                f"{', '.join(root + '.*' for root in METADATA_ROOTS)} and _exists_:<field>",
                position,
            )
        return kind

    def term(self, node: lucene.TermNode) -> Term:
        if node.field is None:
            return Term(None, node.value, prefix=node.prefix)
        kind = self.kind(node.field, node.position)
        value = node.value
        where = f"{node.field}:{'*' if node.prefix else ''}"
        if node.prefix and kind in (FieldKind.BOOLEAN, FieldKind.INTEGER, FieldKind.DATE):
            raise self.fail(
                f"{node.field!r} is a {kind.value} field: a prefix search ({where}) does not apply",
                node.position,
            )
        if kind is FieldKind.BOOLEAN:
            flag = _BOOLEANS.get(value.lower())
            if flag is None:
                raise self.fail(f"{node.field!r} is true or false, not {value!r}", node.position)
            return Term(node.field, flag)
        if kind is FieldKind.INTEGER:
            return Term(node.field, str(self.integer(node.field, value, node.position)))
        if kind is FieldKind.DATE:
            self.date(node.field, value, node.position)
            return Term(node.field, value)
        if kind is FieldKind.DOMAIN:
            value = value.lower()
        return Term(node.field, value, prefix=node.prefix)

    def integer(self, field: str, value: str, position: int) -> int:
        if not value.isascii() or not value.isdigit() or len(value) > 12:
            raise self.fail(f"{field!r} is a whole number, not {value!r}", position)
        number = int(value)
        if number > MAX_INTEGER:
            raise self.fail(f"{value!r} is too large for {field!r}", position)
        return number

    def date(self, field: str, value: str, position: int) -> None:
        if date_window(value) is None:
            raise self.fail(
                f"{field!r} is a date: expected ISO 8601 like 2024-05, 2024-05-01 or "
                f"2024-05-01T10:30:00.000Z, not {value!r}",
                position,
            )

    def range(self, node: lucene.RangeNode) -> Query:
        kind = self.kind(node.field, node.position)
        if kind in (FieldKind.BOOLEAN, FieldKind.DOMAIN):
            raise self.fail(f"a range does not apply to {node.field!r}", node.position)
        if node.low is None and node.high is None:
            return Exists(node.field)
        low, high = node.low, node.high
        if kind is FieldKind.INTEGER:
            low = None if low is None else str(self.integer(node.field, low, node.position))
            high = None if high is None else str(self.integer(node.field, high, node.position))
        elif kind is FieldKind.DATE:
            for bound in (low, high):
                if bound is not None:
                    self.date(node.field, bound, node.position)
        return Range(node.field, low, high, node.include_low, node.include_high)


def compile_query(q: str) -> Query:
    """Parse Auth0's Lucene ``q`` (protocol/lucene.py) into a domain query, checking every field
    against :data:`FIELDS` (plus ``user_metadata.*`` / ``app_metadata.*``) and every value
    against its field's type.

    Raises ``InvalidInput(code="invalid_query_string")`` saying what is wrong and at which
    column of ``q``: bad syntax, an unknown field, a value of the wrong type (``blocked:maybe``,
    ``logins_count:many``, ``created_at:yesterday``), a prefix on a non-string field, a leading
    wildcard, a query over :data:`lucene.MAX_LENGTH` characters or nested too deeply.
    """
    compiler = _Compiler(q)
    try:
        tree = lucene.parse(q)
    except lucene.LuceneSyntaxError as exc:
        detail = exc.detail[:1].lower() + exc.detail[1:]
        raise compiler.fail(detail, exc.position) from None
    return compiler.node(tree)
