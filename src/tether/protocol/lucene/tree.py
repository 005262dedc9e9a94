"""The syntax tree of a query, its limits and its error (see the package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MAX_LENGTH = 1024
"""Longest query accepted, in characters."""

MAX_DEPTH = 20
"""Deepest nesting of parentheses and prefix operators accepted."""

EXISTS_FIELD = "_exists_"


class LuceneSyntaxError(ValueError):
    """The query is not valid syntax. ``position`` is the 0-based offset of the problem."""

    def __init__(self, detail: str, position: int):
        self.detail = detail
        self.position = position
        super().__init__(f"{detail} (at column {position + 1})")


# -- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TermNode:
    """``field:value`` (``field`` None for a bare word). ``prefix`` for ``value*``; ``quoted`` for
    a ``"phrase"``. ``position`` is where the clause starts (the field, or the value if bare)."""

    field: str | None
    value: str
    prefix: bool
    quoted: bool
    position: int


@dataclass(frozen=True)
class RangeNode:
    """``field:[low TO high]``; a ``*`` bound is None. ``[`` / ``]`` include the bound, ``{`` /
    ``}`` exclude it."""

    field: str
    low: str | None
    high: str | None
    include_low: bool
    include_high: bool
    position: int


@dataclass(frozen=True)
class ExistsNode:
    """``field:*`` or ``_exists_:field``."""

    field: str
    position: int


@dataclass(frozen=True)
class NotNode:
    operand: Node
    position: int


@dataclass(frozen=True)
class BoolNode:
    op: Literal["AND", "OR"]
    operands: tuple[Node, ...]
    position: int


Node = TermNode | RangeNode | ExistsNode | NotNode | BoolNode
