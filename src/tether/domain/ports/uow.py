"""The unit of work port: one transaction with every repository bound to it."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from tether.domain.jobs.ports import BulkUserRepo, JobRepo
from tether.domain.ports.repositories import (
    AccountFlowRepo,
    AdminRepo,
    ApiRepo,
    ApplicationRepo,
    ClientGrantRepo,
    CodeRepo,
    ConnectionRepo,
    ConsentRepo,
    CredentialRepo,
    IdentityRepo,
    KeyRepo,
    LinkChoiceRepo,
    LoginBlockRepo,
    LoginTicketRepo,
    LogRepo,
    OutboxRepo,
    PasswordlessRepo,
    PasswordTicketRepo,
    RefreshTokenRepo,
    SessionRepo,
    TenantRepo,
    TransactionRepo,
    UpstreamFlowRepo,
    UserRepo,
    VerificationTicketRepo,
)


class UnitOfWork(Protocol):
    """One database transaction. ``commit`` makes every change durable together, or none."""

    @property
    def tenants(self) -> TenantRepo: ...
    @property
    def keys(self) -> KeyRepo: ...
    @property
    def applications(self) -> ApplicationRepo: ...
    @property
    def apis(self) -> ApiRepo: ...
    @property
    def client_grants(self) -> ClientGrantRepo: ...
    @property
    def connections(self) -> ConnectionRepo: ...
    @property
    def users(self) -> UserRepo: ...
    @property
    def identities(self) -> IdentityRepo: ...
    @property
    def credentials(self) -> CredentialRepo: ...
    @property
    def refresh_tokens(self) -> RefreshTokenRepo: ...
    @property
    def password_tickets(self) -> PasswordTicketRepo: ...
    @property
    def logs(self) -> LogRepo: ...
    @property
    def outbox(self) -> OutboxRepo: ...
    @property
    def sessions(self) -> SessionRepo: ...
    @property
    def transactions(self) -> TransactionRepo: ...
    @property
    def codes(self) -> CodeRepo: ...
    @property
    def consents(self) -> ConsentRepo: ...
    @property
    def passwordless(self) -> PasswordlessRepo: ...
    @property
    def login_tickets(self) -> LoginTicketRepo: ...
    @property
    def upstream_flows(self) -> UpstreamFlowRepo: ...
    @property
    def admins(self) -> AdminRepo: ...
    @property
    def account_flows(self) -> AccountFlowRepo: ...
    @property
    def jobs(self) -> JobRepo: ...
    @property
    def bulk_users(self) -> BulkUserRepo: ...
    @property
    def login_blocks(self) -> LoginBlockRepo: ...
    @property
    def verification_tickets(self) -> VerificationTicketRepo: ...
    @property
    def link_choices(self) -> LinkChoiceRepo: ...

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the next ``commit`` succeeded (never after a rollback): how a
        change updates this process's read models only when it is durable."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work. ``read_only`` promises it will only read (no write, no commit): on
        SQLite it then neither waits for nor takes the database's one write lock."""
        ...
