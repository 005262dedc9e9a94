"""``/api/v2/logs`` and ``/api/v2/logs/{id}``: offset paging or checkpoint paging (``from``/``take``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Security
from starlette.requests import Request

from tether.domain.log_filter import LogFilter
from tether.protocol import lucene
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.deps import bearer_scheme, caller
from tether.web.management.errors import ManagementError
from tether.web.management.views import ManagementRoute, envelope, pick_fields
from tether.web.views import log_view

router = APIRouter(dependencies=[Security(bearer_scheme)], route_class=ManagementRoute)
Who = Annotated[Caller, Depends(caller)]

#: Fields ``q`` may filter on, as ``field:value`` terms joined by AND (dates as a range).
_Q_FIELDS = {"type", "user_id", "client_id", "connection", "ip", "date"}


def _parse_date(value: str) -> datetime | None:
    if value == "*":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ManagementError(400, f"Invalid date in q: {value}", "invalid_query_string") from exc
    return (
        parsed.replace(tzinfo=None)
        if parsed.tzinfo is None
        else parsed.astimezone().replace(tzinfo=None)
    )


def _conjunction(q: str | None) -> list[lucene.Node]:
    """The clauses of a query made only of AND-joined terms and ranges."""
    if not q:
        return []
    try:
        node = lucene.parse(q)
    except lucene.LuceneSyntaxError as exc:
        raise ManagementError(400, str(exc), "invalid_query_string") from exc
    if isinstance(node, lucene.BoolNode) and node.op == "AND":
        return list(node.operands)
    return [node]


def parse_log_query(q: str | None, descending: bool) -> LogFilter:
    """A small, strict reading of Auth0's log ``q``: ``type:s AND user_id:"auth0|1" AND date:[a TO b]``."""
    values: dict[str, str] = {}
    types: list[str] = []
    date_from = date_to = None
    for node in _conjunction(q):
        if isinstance(node, lucene.RangeNode) and node.field == "date":
            date_from, date_to = _parse_date(node.low or "*"), _parse_date(node.high or "*")
        elif (
            isinstance(node, lucene.TermNode)
            and node.field in _Q_FIELDS - {"date"}
            and not node.prefix
        ):
            if node.field == "type":
                types.append(node.value)
            else:
                values[str(node.field)] = node.value
        else:
            field = getattr(node, "field", None)
            raise ManagementError(
                400,
                f"Cannot filter logs by {field!r} here: use type, user_id, client_id, connection, ip "
                "terms and a date:[FROM TO TO] range, joined by AND.",
                "invalid_query_string",
            )
    return LogFilter(
        types=tuple(types),
        user_id=values.get("user_id"),
        client_id=values.get("client_id"),
        connection=values.get("connection"),
        ip=values.get("ip"),
        date_from=date_from,
        date_to=date_to,
        descending=descending,
    )


@router.get(
    "/logs", response_model=list[schemas.LogEvent] | schemas.LogsPage, responses=schemas.ERRORS
)
async def list_logs(
    request: Request,
    who: Who,
    q: Annotated[str | None, Query(max_length=1024)] = None,
    page: Annotated[int, Query(ge=0, le=1000)] = 0,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
    sort: Annotated[str | None, Query(pattern=r"^date:(1|-1)$")] = None,
    fields: Annotated[str | None, Query(max_length=1024)] = None,
    include_fields: bool = True,
    include_totals: bool = False,
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    take: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Any:
    who.require(["read:logs"])
    flt = parse_log_query(q, descending=sort != "date:1")
    service = services(request).logs
    if from_ is not None or take is not None:
        events = await service.after(who.tenant.id, flt, from_id=from_, take=take or 50)
        return [pick_fields(log_view(e), fields, include_fields) for e in events]
    events, total = await service.page(who.tenant.id, flt, offset=page * per_page, limit=per_page)
    items = [pick_fields(log_view(e), fields, include_fields) for e in events]
    if include_totals:
        return envelope("logs", items, start=page * per_page, limit=per_page, total=total)
    return items


@router.get(
    "/logs/{id}",
    response_model=schemas.LogEvent,
    responses={**schemas.ERRORS, 404: {"model": schemas.Error}},
)
async def get_log(request: Request, who: Who, id: str) -> dict[str, Any]:
    who.require(["read:logs"])
    return log_view(await services(request).logs.get(who.tenant.id, id))
