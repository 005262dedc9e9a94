"""Shaping responses: ``fields``/``include_fields``, the ``include_totals`` envelope, and the
route class that makes FastAPI enforce each route's response model.

Routes return the Auth0 shape as plain data (``tether.presentation`` and the views beside each
router build it from domain models); FastAPI validates it against the route's
``response_model`` (schemas.py, the OpenAPI document's schemas) and serializes it once, in
pydantic's Rust core. Fields a view leaves out stay out (``exclude_unset``): Auth0 omits absent
values rather than sending ``null``, and ``fields`` picks a subset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tether.web.body import StrictJsonRoute


class ManagementRoute(StrictJsonRoute):
    """Every Management route: strict JSON bodies (a non-finite number is a 400), and the
    response validated against ``response_model`` with unset fields left out."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().__init__(path, endpoint, **kwargs)


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
