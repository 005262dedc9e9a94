"""Log events with Auth0's type codes, written in the same transaction as what they record.

Type codes follow Auth0's documented list ("Log Event Type Codes").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tether.domain.clock import Clock
from tether.domain.ids import new_log_id
from tether.domain.metrics import NO_METRICS, Metrics
from tether.domain.models import Application, Connection, LogEvent, User
from tether.domain.ports import UnitOfWork

log = logging.getLogger("tether.events")


class LogType(StrEnum):
    SUCCESS_LOGIN = "s"
    FAILED_LOGIN = "f"
    FAILED_LOGIN_PASSWORD = "fp"
    FAILED_LOGIN_USERNAME = "fu"
    SUCCESS_SIGNUP = "ss"
    FAILED_SIGNUP = "fs"
    SUCCESS_EXCHANGE_PASSWORD = "sepft"
    FAILED_EXCHANGE_PASSWORD = "fepft"
    SUCCESS_EXCHANGE_CLIENT_CREDENTIALS = "seccft"
    FAILED_EXCHANGE_CLIENT_CREDENTIALS = "feccft"
    SUCCESS_EXCHANGE_REFRESH_TOKEN = "sertft"
    FAILED_EXCHANGE_REFRESH_TOKEN = "fertft"
    REFRESH_TOKEN_REUSE = "ferrt"
    SUCCESS_REVOCATION = "srrt"
    SUCCESS_EXCHANGE_CODE = "seacft"
    FAILED_EXCHANGE_CODE = "feacft"
    SUCCESS_LOGOUT = "slo"
    PASSWORDLESS_CODE_SENT = "cls"
    SUCCESS_SILENT_AUTH = "ssa"
    FAILED_SILENT_AUTH = "fsa"
    SUCCESS_CHANGE_PASSWORD = "scp"
    FAILED_CHANGE_PASSWORD = "fcp"
    SUCCESS_CHANGE_PASSWORD_REQUEST = "scpr"
    FAILED_CHANGE_PASSWORD_REQUEST = "fcpr"
    SUCCESS_API_OPERATION = "sapi"
    FAILED_API_OPERATION = "fapi"
    BLOCKED_ACCOUNT = "limit_wc"
    BLOCKED_IP = "limit_mu"
    UNBLOCKED = "ublkdu"
    DELETED_USER = "du"
    SUCCESS_VERIFICATION_EMAIL = "sv"
    FAILED_VERIFICATION_EMAIL = "fv"
    SUCCESS_VERIFICATION_EMAIL_REQUEST = "svr"
    FAILED_VERIFICATION_EMAIL_REQUEST = "fvr"


@dataclass(frozen=True)
class RequestInfo:
    """Who is asking, as far as the log is concerned. ``method`` and ``path`` are what the
    surface that asked says of itself (the Management API's route; empty for the CLI): the
    domain never writes a URL of its own into an event."""

    ip: str | None = None
    user_agent: str | None = None
    method: str | None = None
    path: str | None = None


NO_REQUEST = RequestInfo()


class Audit:
    def __init__(self, clock: Clock, metrics: Metrics = NO_METRICS):
        self._clock = clock
        self._metrics = metrics

    async def record(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        type_: LogType,
        request: RequestInfo = NO_REQUEST,
        *,
        description: str = "",
        application: Application | None = None,
        client_id: str | None = None,
        user: User | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
        connection: Connection | None = None,
        details: dict[str, Any] | None = None,
    ) -> LogEvent:
        """Add one event to ``uow``; it commits with the change it describes."""
        event = self.build(
            tenant_id,
            type_,
            request,
            description=description,
            application=application,
            client_id=client_id,
            user=user,
            user_id=user_id,
            user_name=user_name,
            connection=connection,
            details=details,
        )
        await uow.logs.add(event)
        # The operator's log gets a line once the event is committed (not for a rollback).
        uow.after_commit(lambda: self.committed(event))
        return event

    def build(
        self,
        tenant_id: str,
        type_: LogType,
        request: RequestInfo = NO_REQUEST,
        *,
        description: str = "",
        application: Application | None = None,
        client_id: str | None = None,
        user: User | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
        connection: Connection | None = None,
        details: dict[str, Any] | None = None,
    ) -> LogEvent:
        """The event, not yet written: ``record`` adds it to a unit of work, the group commit
        (domain/event_writer.py) writes it with the events of concurrent requests."""
        return LogEvent(
            log_id=new_log_id(),
            tenant_id=tenant_id,
            date=self._clock.now(),
            type=type_.value,
            # Descriptions quote what the caller sent (an audience, say): cap them like the
            # user agent, so a long request is not a database error (PostgreSQL: varchar(1024)).
            description=description[:1024],
            client_id=application.client_id if application else client_id,
            client_name=application.name if application else None,
            ip=request.ip,
            user_agent=(request.user_agent or "")[:512] or None,
            user_id=user.user_id if user else user_id,
            user_name=(user.email or user.username) if user else user_name,
            connection=connection.name if connection else None,
            connection_id=connection.id if connection else None,
            strategy=connection.strategy if connection else None,
            details=details or {},
        )

    async def login(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        user: User,
        at: datetime,
        request: RequestInfo,
        *,
        application: Application | None,
        connection: Connection | None,
    ) -> None:
        """A successful sign-in, in its transaction: the user's login count, last login and IP,
        and the ``s`` event (password, passwordless and upstream sign-in alike)."""
        await uow.users.record_login(tenant_id, user.pk, at, request.ip)
        await self.record(
            uow,
            tenant_id,
            LogType.SUCCESS_LOGIN,
            request,
            application=application,
            user=user,
            connection=connection,
        )

    def committed(self, event: LogEvent) -> None:
        """The event is durable: the operator's log line and the metric."""
        _log_line(event)
        self._metrics.event(event)


def _log_line(event: LogEvent) -> None:
    """One line per log event (issue 14, "Logs"): its type and ids, nothing a person typed
    beyond the fixed description (no details: they can quote a request)."""
    log.info(
        "log event %s %s",
        event.type,
        event.log_id,
        extra={
            "fields": {
                "event": event.type,
                "log_id": event.log_id,
                "tenant_id": event.tenant_id,
                "client_id": event.client_id,
                "user_id": event.user_id,
                "connection": event.connection,
                "client_ip": event.ip,
                "description": event.description[:200] or None,
            }
        },
    )
