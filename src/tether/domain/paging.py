"""Auth0's offset paging (``page`` from 0, ``per_page``) over a list a service already holds:
the Management API's /clients, /client-grants, /resource-servers and /connections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def page_of(items: Sequence[T], page: int, per_page: int) -> tuple[list[T], int]:
    """The items of page ``page`` and how many there are in all (Auth0's ``total``)."""
    return list(items[page * per_page : (page + 1) * per_page]), len(items)
