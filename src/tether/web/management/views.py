"""Shaping responses: ``fields``/``include_fields`` and the ``include_totals`` envelope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def pick_fields(item: dict[str, Any], fields: str | None, include: bool) -> dict[str, Any]:
    if not fields:
        return item
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if include:
        return {k: v for k, v in item.items() if k in names}
    return {k: v for k, v in item.items() if k not in names}


def envelope(
    key: str, items: Sequence[Any], *, start: int, limit: int, total: int
) -> dict[str, Any]:
    return {"start": start, "limit": limit, "length": len(items), "total": total, key: list(items)}
