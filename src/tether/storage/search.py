"""A domain user query (domain/user_search.py) as a SQLAlchemy clause with bound parameters.

No value ever becomes SQL text: each is a bound parameter, and ``LIKE`` patterns escape ``%``,
``_`` and ``\\`` so they match literally. The clause goes in the ``WHERE`` of a query over
``users`` (storage/repositories/users.py ``Users.search``) beside ``users.tenant_id = :tenant``.

SQL shapes, by field kind (domain ``FieldKind``):

- text fields (email, names): ``lower(col) = lower(:v)``, or ``lower(col) LIKE lower(:v || '%')``
  for ``v*``. ``(tenant_id, lower(email))`` is indexed (ix_users_tenant_email_lower), so an exact
  email search is an index lookup.
- keyword fields (user_id, last_ip): ``col = :v``, or ``substr(col, 1, :n) = :v`` for a prefix
  (``LIKE`` is case-insensitive on SQLite; ``substr`` is exact on both backends).
- ``email.domain:x``: ``lower(email) LIKE '%@' || x`` (escaped).
- booleans, integers: ``col = :v``; dates: ``:start <= col < :end`` over the span the value names
  (a day, a minute, a second, ...); ranges compare the same way.
- ``identities.*``: ``users.pk IN (SELECT user_pk FROM identities JOIN connections ...)``.
- metadata paths: the JSON value at the path (``json_extract``/``json_type`` on SQLite,
  ``#>``/``#>>``/``json_typeof`` on PostgreSQL), compared by its JSON type: a string equals the
  value, a boolean ``true``/``false``, a number numerically; a string also matches an array holding
  it (``app_metadata.roles:admin``).
- ``_exists_:f`` / ``f:*``: ``col IS NOT NULL``; for metadata, the path holds a non-null value.
- ``NOT x``: ``(x) IS NOT TRUE``, so a missing (NULL) field counts as "not x", as in Lucene.
- a bare word: the text-field comparison over name, email and nickname, OR-ed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tether.domain.errors import InvalidInput
from tether.domain.user_search import (
    BARE_WORD_FIELDS,
    BoolOp,
    Exists,
    FieldKind,
    Not,
    Query,
    Range,
    Term,
    as_number,
    date_window,
    field_kind,
    metadata_path,
)
from tether.storage import tables as t

Clause = sa.ColumnElement[bool]

_USER_COLUMNS = {
    "user_id": t.users.c.user_id,
    "email": t.users.c.email,
    "email_verified": t.users.c.email_verified,
    "username": t.users.c.username,
    "name": t.users.c.name,
    "given_name": t.users.c.given_name,
    "family_name": t.users.c.family_name,
    "nickname": t.users.c.nickname,
    "blocked": t.users.c.blocked,
    "created_at": t.users.c.created_at,
    "updated_at": t.users.c.updated_at,
    "last_login": t.users.c.last_login,
    "logins_count": t.users.c.logins_count,
    "last_ip": t.users.c.last_ip,
    "email.domain": t.users.c.email,
}

_IDENTITY_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "identities.connection": t.connections.c.name,
    "identities.provider": t.identities.c.provider,
    "identities.user_id": t.identities.c.subject,
    "identities.isSocial": t.identities.c.is_social,
}

_METADATA_COLUMNS = {
    "user_metadata": t.users.c.user_metadata,
    "app_metadata": t.users.c.app_metadata,
}


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"Invalid query string: {message}", code="invalid_query_string")


def user_query_clause(query: Query) -> Clause:
    """``query`` as a boolean clause over ``users`` (and subqueries), parameters bound."""
    if isinstance(query, BoolOp):
        parts = [user_query_clause(operand) for operand in query.operands]
        return sa.and_(*parts) if query.op == "AND" else sa.or_(*parts)
    if isinstance(query, Not):
        # NULL (field missing) must count as "not matching": NOT NULL would drop the row.
        return user_query_clause(query.operand).is_not(sa.true())
    if isinstance(query, Term) and query.field is None:
        return sa.or_(
            *(_text(_USER_COLUMNS[f], query.value, query.prefix) for f in BARE_WORD_FIELDS)
        )
    field = query.field
    kind = None if field is None else field_kind(field)
    if field is None or kind is None:
        raise _bad(f"unknown field {field!r}")
    if kind is FieldKind.METADATA:
        root, path = metadata_path(field)
        return _metadata(_METADATA_COLUMNS[root][path], query)
    if field in _IDENTITY_COLUMNS:
        inner = _condition(_IDENTITY_COLUMNS[field], kind, query)
        identities = (
            sa.select(t.identities.c.user_pk)
            .select_from(
                t.identities.join(
                    t.connections,
                    sa.and_(
                        t.connections.c.id == t.identities.c.connection_id,
                        t.connections.c.tenant_id == t.identities.c.tenant_id,
                    ),
                )
            )
            .where(inner)
        )
        return t.users.c.pk.in_(identities)
    return _condition(_USER_COLUMNS[field], kind, query)


def _condition(column: sa.ColumnElement[Any], kind: FieldKind, query: Query) -> Clause:
    """A Term, Range or Exists on one plain column."""
    if isinstance(query, Exists):
        return column.is_not(None)
    if isinstance(query, Range):
        return _range(column, kind, query)
    if not isinstance(query, Term):
        raise _bad(f"cannot search with {query!r}")  # pragma: no cover - Not/BoolOp handled above
    value = query.value
    if kind is FieldKind.TEXT:
        return _text(column, value, query.prefix)
    if kind is FieldKind.KEYWORD:
        return _keyword(column, value, query.prefix)
    if kind is FieldKind.DOMAIN:
        pattern = "%@" + _like_escape(value) + ("%" if query.prefix else "")
        return sa.func.lower(column).like(sa.func.lower(pattern), escape="\\")
    if kind is FieldKind.BOOLEAN:
        return column == _boolean(value)
    if kind is FieldKind.INTEGER:
        return column == _integer(value)
    if kind is FieldKind.DATE:
        start, end = _window(value)
        return sa.and_(column >= start, column < end)
    raise _bad(f"cannot search {kind.value} fields this way")  # pragma: no cover


def _text(column: sa.ColumnElement[Any], value: str, prefix: bool) -> Clause:
    """Case-insensitive: both sides through the database's lower(), so they agree on it."""
    if prefix:
        return sa.func.lower(column).like(sa.func.lower(_like_escape(value) + "%"), escape="\\")
    return sa.func.lower(column) == sa.func.lower(sa.literal(value, sa.String))


def _keyword(column: sa.ColumnElement[Any], value: str, prefix: bool) -> Clause:
    if prefix:
        return sa.func.substr(column, 1, len(value)) == value
    return column == value


def _range(column: sa.ColumnElement[Any], kind: FieldKind, query: Range) -> Clause:
    parts: list[Clause] = [column.is_not(None)]
    if kind is FieldKind.DATE:
        if query.low is not None:
            start, end = _window(query.low)
            parts.append(column >= (start if query.include_low else end))
        if query.high is not None:
            start, end = _window(query.high)
            parts.append(column < (end if query.include_high else start))
        return sa.and_(*parts)
    low: Any = query.low
    high: Any = query.high
    target: sa.ColumnElement[Any] = column
    if kind is FieldKind.INTEGER:
        low = None if low is None else _integer(low)
        high = None if high is None else _integer(high)
    elif kind is FieldKind.TEXT:
        target = sa.func.lower(column)
        low = None if low is None else sa.func.lower(sa.literal(low, sa.String))
        high = None if high is None else sa.func.lower(sa.literal(high, sa.String))
    elif kind is not FieldKind.KEYWORD:
        raise _bad(f"a range does not apply to a {kind.value} field")
    if low is not None:
        parts.append(target >= low if query.include_low else target > low)
    if high is not None:
        parts.append(target <= high if query.include_high else target < high)
    return sa.and_(*parts)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise _bad(f"expected true or false, not {value!r}")
    return value == "true"


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _bad(f"expected a whole number, not {value!r}") from None


def _window(value: str) -> tuple[Any, Any]:
    window = date_window(value)
    if window is None:
        raise _bad(f"expected an ISO 8601 date, not {value!r}")
    return window


# -- JSON metadata -------------------------------------------------------------------------


class json_kind(FunctionElement[str]):
    """The JSON type of ``column[path]`` as one of ``string``, ``number``, ``true``, ``false``,
    ``null``, ``object``, ``array``, or NULL where the path is missing. Its single argument is a
    JSON path index (``users.c.user_metadata[("a", "b")]``)."""

    type = sa.String()
    name = "json_kind"
    inherit_cache = True


class json_array_has_string(FunctionElement[bool]):
    """Whether ``column[path]`` is an array holding the string given as the second argument."""

    type = sa.Boolean()
    name = "json_array_has_string"
    inherit_cache = True


def _path_parts(element: FunctionElement[Any]) -> list[Any]:
    return list(element.clauses.clauses)


@compiles(json_kind, "sqlite")
def _json_kind_sqlite(element: json_kind, compiler: SQLCompiler, **kw: Any) -> str:
    (index,) = _path_parts(element)
    column, path = compiler.process(index.left, **kw), compiler.process(index.right, **kw)
    return (
        f"CASE json_type({column}, {path}) WHEN 'text' THEN 'string' "
        "WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' WHEN 'true' THEN 'true' "
        "WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' WHEN 'object' THEN 'object' "
        "WHEN 'array' THEN 'array' END"
    )


@compiles(json_kind, "postgresql")
def _json_kind_postgresql(element: json_kind, compiler: SQLCompiler, **kw: Any) -> str:
    (index,) = _path_parts(element)
    value = compiler.process(index, **kw)  # column #> path: json
    return f"COALESCE(NULLIF(json_typeof({value}), 'boolean'), CAST({value} AS TEXT))"


@compiles(json_array_has_string, "sqlite")
def _array_has_sqlite(element: json_array_has_string, compiler: SQLCompiler, **kw: Any) -> str:
    index, wanted = _path_parts(element)
    column, path = compiler.process(index.left, **kw), compiler.process(index.right, **kw)
    needle = compiler.process(wanted, **kw)
    # Only compiled fragments (columns, bound parameters) go in: no value becomes SQL text.
    return (
        f"(json_type({column}, {path}) = 'array' AND EXISTS (SELECT 1 FROM "  # noqa: S608
        f"json_each({column}, {path}) AS e WHERE e.type = 'text' AND e.value = {needle}))"
    )


@compiles(json_array_has_string, "postgresql")
def _array_has_postgresql(element: json_array_has_string, compiler: SQLCompiler, **kw: Any) -> str:
    index, wanted = _path_parts(element)
    value = compiler.process(index, **kw)
    needle = compiler.process(wanted, **kw)
    # Only compiled fragments (columns, bound parameters) go in: no value becomes SQL text.
    return (
        f"EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof({value}) = 'array' "  # noqa: S608
        f"THEN {value} END) AS e(v) WHERE json_typeof(e.v) = 'string' "
        f"AND e.v #>> '{{}}' = {needle})"
    )


def _metadata(index: Any, query: Query) -> Clause:
    """A Term, Range or Exists on the JSON value at a metadata path."""
    kind = json_kind(index)
    text = index.as_string()
    if isinstance(query, Exists):
        return sa.and_(kind.is_not(None), kind != "null")
    number = sa.case((kind == "number", index.as_float()), else_=None)
    if isinstance(query, Range):
        bounds = [b for b in (query.low, query.high) if b is not None]
        numeric = all(as_number(b) is not None for b in bounds)
        target = number if numeric else text
        parts: list[Clause] = [kind == ("number" if numeric else "string")]
        if query.low is not None:
            low = as_number(query.low) if numeric else query.low
            parts.append(target >= low if query.include_low else target > low)
        if query.high is not None:
            high = as_number(query.high) if numeric else query.high
            parts.append(target <= high if query.include_high else target < high)
        return sa.and_(*parts)
    if not isinstance(query, Term):
        raise _bad(f"cannot search with {query!r}")  # pragma: no cover - Not/BoolOp handled above
    value = query.value
    if query.prefix:
        return sa.and_(kind == "string", sa.func.substr(text, 1, len(value)) == value)
    options: list[Clause] = [
        sa.and_(kind == "string", text == value),
        json_array_has_string(index, sa.literal(value, sa.String)),
    ]
    if value in ("true", "false"):
        options.append(kind == value)
    as_float = as_number(value)
    if as_float is not None:
        options.append(number == as_float)
    return sa.or_(*options)
