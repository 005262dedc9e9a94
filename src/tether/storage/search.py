"""A domain user query (domain/user_search.py) as a SQLAlchemy clause with bound parameters."""

from __future__ import annotations

from typing import Any

from tether.domain.user_search import Query


def user_query_clause(query: Query) -> Any:
    raise NotImplementedError("Lucene search lands with the search work")
