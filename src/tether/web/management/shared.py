"""What /clients, /connections, /resource-servers and /client-grants share: the caller with
a scope, checked before the body is (403 before 400, as Auth0 answers), and the list
parameters ``page``/``per_page``, ``include_totals`` and ``fields``/``include_fields``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from tether.web.management.auth import Caller
from tether.web.management.deps import caller
from tether.web.management.views import envelope, pick_fields


def scoped(*any_of: str) -> Any:
    """A dependency: the authenticated caller, holding one of ``any_of`` (403 otherwise)."""

    async def dependency(who: Annotated[Caller, Depends(caller)]) -> Caller:
        who.require(any_of)
        return who

    return Depends(dependency)


@dataclass(frozen=True)
class Listing:
    page: int
    per_page: int
    include_totals: bool
    fields: str | None
    include_fields: bool

    def respond(self, key: str, items: Iterable[dict[str, Any]], total: int) -> Any:
        """A bare array, or with ``include_totals`` Auth0's ``{start, limit, length, total,
        <key>}`` envelope (the route's response model, a union of the two, validates it)."""
        shown = [pick_fields(item, self.fields, self.include_fields) for item in items]
        if self.include_totals:
            return envelope(
                key, shown, start=self.page * self.per_page, limit=self.per_page, total=total
            )
        return shown


def _listing(
    page: Annotated[int, Query(ge=0, le=10000, description="Page index, from 0.")] = 0,
    per_page: Annotated[int, Query(ge=0, le=100, description="Results per page.")] = 50,
    include_totals: Annotated[
        bool, Query(description="Answer the {start, limit, length, total, ...} envelope.")
    ] = False,
    fields: Annotated[
        str | None, Query(max_length=1024, description="Comma-separated fields.")
    ] = None,
    include_fields: Annotated[
        bool, Query(description="Whether fields are the ones to include (true) or leave out.")
    ] = True,
) -> Listing:
    return Listing(page, per_page, include_totals, fields, include_fields)


Paging = Annotated[Listing, Depends(_listing)]
