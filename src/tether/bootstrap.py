"""The composition root: the one place that knows every layer and wires them together."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tether.adapters import metrics as metrics_adapter
from tether.adapters.metrics import PrometheusMetrics
from tether.adapters.ratelimit import LimitsRateLimiter, redis_probe
from tether.adapters.smtp import SmtpTransport
from tether.config import Settings
from tether.domain.access import AccessCheck, TokenCutoffs, UserAccess
from tether.domain.account import AccountService, HostedApps
from tether.domain.admins import AdminService
from tether.domain.applications import ApiService, ApplicationService
from tether.domain.audit import Audit
from tether.domain.authorization import AuthorizationService
from tether.domain.brute_force import RULE_LOGIN_ACCOUNT, BruteForceGuard, SignInAttempts
from tether.domain.clock import Clock, SystemClock
from tether.domain.configuration import Configuration
from tether.domain.connections import ConnectionService
from tether.domain.cross_origin import CrossOriginService
from tether.domain.event_writer import EventWriter
from tether.domain.external import ExternalSignIn
from tether.domain.federation import FederationService
from tether.domain.health import HealthService, Probe, signing_keys_probe
from tether.domain.jobs.service import JobService
from tether.domain.jobs.verification_email import VerificationEmailJobs
from tether.domain.keys import KeyService
from tether.domain.linking import LinkingService
from tether.domain.logs import LogService
from tether.domain.mail import MailService
from tether.domain.mailbox import MailboxProof
from tether.domain.metrics import NO_METRICS, Metrics
from tether.domain.passwordless import RULE_EMAIL, RULE_IP, PasswordlessService
from tether.domain.passwords import HashParameters, PasswordHasher, PasswordPolicy
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.provisioning import Provisioned, provision_default_tenant
from tether.domain.sealing import Sealer
from tether.domain.secret_rotation import SecretRotation
from tether.domain.sessions import SessionService
from tether.domain.sign_in_linking import SignInLinking
from tether.domain.tenants import TenantService
from tether.domain.tokens import RULE_TOKEN_IP, TokenService
from tether.domain.user_admin import UserAdmin
from tether.domain.users import RULE_LOGIN_IP, DatabaseUsers
from tether.domain.verification import (
    RULE_VERIFICATION_MAIL,
    EmailVerification,
    VerificationMail,
)
from tether.federation.registry import UpstreamRegistry
from tether.storage import backup, migrate
from tether.storage.db import create_engine
from tether.storage.health import database_probe, migrations_probe
from tether.storage.uow import SqlUnitOfWorkFactory
from tether.web.services import Services

log = logging.getLogger("tether")


@dataclass(frozen=True)
class Container(Services):
    """Everything built, for the CLI and tests: the services web gets, plus the database
    handles and the upstream sign-in. The app gets only ``services`` (no engine) and ``close``
    (``create_app`` takes the container as its ``Wiring``)."""

    engine: AsyncEngine
    uow: UnitOfWorkFactory
    external: ExternalSignIn
    #: A step of other services' transactions (docs/architecture.md), not a service: tests
    #: build events with it; web is not handed it.
    audit: Audit
    secret_rotation: SecretRotation

    @property
    def services(self) -> Services:
        """What web is handed: the services, never the engine (the fields of ``Services``)."""
        return Services(**{f.name: getattr(self, f.name) for f in fields(Services)})

    async def upgrade_database(self) -> None:
        await migrate.upgrade(self.engine)

    async def backup_database(self, target: Path) -> int:
        """A consistent copy of a SQLite database while it serves (storage/backup.py)."""
        return await backup.backup(self.engine, target)

    async def database_revision(self) -> str | None:
        return await migrate.current_revision(self.engine)

    @staticmethod
    def schema_head() -> str | None:
        return migrate.head_revision()

    async def provision(self) -> Provisioned:
        return await provision_default_tenant(
            self.tenants, self.applications, self.connections, self.settings.effective_public_url
        )

    async def close(self) -> None:
        await self.engine.dispose()
        if self.settings.metrics_address:
            metrics_adapter.worker_exited(os.getpid())


def build_container(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
    hash_parameters: HashParameters | None = None,
) -> Container:
    """Build every service from ``settings``. Tests pass their own engine, clock or cheaper
    hash parameters; nothing here reads the environment."""
    engine = engine or create_engine(
        settings.effective_database_url, busy_timeout_ms=settings.db_busy_timeout_ms
    )
    metrics: Metrics = PrometheusMetrics.shared() if settings.metrics_address else NO_METRICS
    uow = SqlUnitOfWorkFactory(engine, metrics=metrics)
    clock = clock or SystemClock()
    sealer = Sealer(settings.master_secret_bytes(), settings.extra_master_secret_bytes())
    limiter = LimitsRateLimiter(
        {
            RULE_TOKEN_IP: settings.token_rate_limit,
            RULE_LOGIN_IP: settings.login_rate_limit_ip,
            RULE_LOGIN_ACCOUNT: settings.login_rate_limit_account,
            "management": settings.management_rate_limit,
            RULE_EMAIL: settings.passwordless_rate_limit_email,
            RULE_IP: settings.passwordless_rate_limit_ip,
            RULE_VERIFICATION_MAIL: settings.verification_mail_rate_limit,
        },
        settings.redis_url,
    )
    transport = None
    if settings.smtp_host:
        transport = SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
            starttls=settings.smtp_starttls,
        )
    audit = Audit(clock, metrics)
    # Configuration served from memory (DESIGN.md, "Hot paths"); a commit that changes it tells
    # this process's read model at once, other processes see it by the version poll.
    configuration = Configuration(uow)
    uow.on_configuration_change(configuration.changed)
    keys = KeyService(uow, sealer, clock, configuration)
    apis = ApiService(uow, clock)
    connections = ConnectionService(uow, clock, sealer=sealer)
    applications = ApplicationService(uow, sealer, clock, configuration)
    tenants = TenantService(uow, keys, apis, connections, clock, configuration)
    mail = MailService(uow, clock, transport, settings.mail_from)
    cutoffs = TokenCutoffs(uow, clock)
    access = UserAccess(cutoffs, audit, mail, clock)
    proof = MailboxProof(audit, mail, clock, access)
    attempts = SignInAttempts(uow, mail, audit, limiter, clock)
    verification = EmailVerification(uow, mail, audit, clock, limiter, proof)
    verification_mail = VerificationMail(mail, clock)
    users = DatabaseUsers(
        uow,
        PasswordHasher(
            hash_parameters or HashParameters(),
            metrics,
            concurrency=settings.hash_concurrency
            or max(1, (os.cpu_count() or 1) // settings.workers),
        ),
        PasswordPolicy(),
        audit,
        mail,
        limiter,
        clock,
        access,
        proof,
        attempts,
        verification_mail,
        configuration=configuration,
    )
    tokens = TokenService(uow, keys, users, audit, clock, configuration, EventWriter(uow))
    external = ExternalSignIn(uow, audit, clock, proof)
    sessions = SessionService(uow, clock, audit)
    passwordless = PasswordlessService(uow, sealer, mail, external, limiter, audit, clock, attempts)
    logs = LogService(uow, audit)
    linking = LinkingService(uow, keys, audit, mail, clock, access, sessions)
    probes: dict[str, Probe] = {
        "database": database_probe(engine),
        "migrations": migrations_probe(engine),
        "signing_keys": signing_keys_probe(tenants, keys),
    }
    if settings.redis_url:
        probes["redis"] = redis_probe(limiter)
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        secret_rotation=SecretRotation(uow, sealer),
        clock=clock,
        limiter=limiter,
        guard=BruteForceGuard(uow, audit, clock),
        audit=audit,
        keys=keys,
        tenants=tenants,
        applications=applications,
        apis=apis,
        connections=connections,
        users=users,
        tokens=tokens,
        mail=mail,
        sessions=sessions,
        authorization=AuthorizationService(uow, tokens, clock, configuration),
        user_admin=UserAdmin(uow, users, audit, clock, access, verification_mail),
        logs=logs,
        linking=linking,
        external=external,
        passwordless=passwordless,
        cross_origin=CrossOriginService(uow, users, passwordless, connections, sessions, clock),
        federation=FederationService(
            uow,
            UpstreamRegistry(),
            external,
            sealer,
            audit,
            clock,
            private_networks=tuple(settings.federation_private_networks),
        ),
        admins=AdminService(uow, audit, clock),
        hosted_apps=HostedApps(uow, applications, tokens, keys, clock),
        account=AccountService(uow, linking, logs, clock),
        access=AccessCheck(cutoffs),
        jobs=JobService(uow, audit, clock, sealer, access, mail),
        verification=verification,
        verification_jobs=VerificationEmailJobs(uow, verification, verification_mail, audit, clock),
        health=HealthService(probes),
        metrics=metrics,
        sign_in_linking=SignInLinking(uow, users, passwordless, linking, audit, clock),
    )


def start_metrics(settings: Settings) -> Callable[[], None] | None:
    """For ``tether serve`` with TETHER_METRICS_ADDRESS, before any container or worker exists:
    prometheus-client's multi-process folder, and the exposition server in this process.
    Returns what removes the folder at exit; None when metrics are off."""
    if not settings.metrics_address:
        return None
    folder = metrics_adapter.prepare_multiprocess()
    metrics_adapter.serve(settings.metrics_address)
    return lambda: metrics_adapter.forget_multiprocess(folder)
