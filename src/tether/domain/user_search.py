"""A user search query, as the domain understands it: a tree of field conditions that storage
turns into SQL with bound parameters (never string concatenation).

The Lucene parser (protocol/lucene.py) produces this tree; ``GET /api/v2/users?q=`` and the
CLI's ``users search`` use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
