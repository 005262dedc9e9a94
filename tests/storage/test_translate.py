"""Database errors become domain errors: a collision between transactions is a retryable 409."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from tether.domain.errors import Conflict
from tether.storage.uow import translate


class _Orig(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _dbapi_error(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE ...", {}, _Orig(sqlstate))


def test_deadlock_and_serialization_failure_are_conflicts() -> None:
    for code in ("40P01", "40001"):
        mapped = translate(_dbapi_error(code))
        assert isinstance(mapped, Conflict), code
        assert "try again" in mapped.message


def test_other_database_errors_are_not_called_conflicts() -> None:
    assert translate(_dbapi_error("42601")) is None  # a syntax error stays a server error
