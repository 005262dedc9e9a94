"""What web is handed: the domain services it calls, with the settings, clock and limiter it reads.

Web declares here what it needs and ``bootstrap`` builds it. There is no database handle in it: a service
owns its transaction, and web only calls services (issue 12, "services own every transaction").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tether.config import Settings
from tether.domain.access import AccessCheck
from tether.domain.account import AccountService, HostedApps
from tether.domain.admins import AdminService
from tether.domain.applications import ApiService, ApplicationService
from tether.domain.authorization import AuthorizationService
from tether.domain.brute_force import BruteForceGuard
from tether.domain.clock import Clock
from tether.domain.connections import ConnectionService
from tether.domain.cross_origin import CrossOriginService
from tether.domain.federation import FederationService
from tether.domain.health import HealthService
from tether.domain.jobs.service import JobService
from tether.domain.jobs.verification_email import VerificationEmailJobs
from tether.domain.keys import KeyService
from tether.domain.linking import LinkingService
from tether.domain.logs import LogService
from tether.domain.mail import MailService
from tether.domain.metrics import Metrics
from tether.domain.passwordless import PasswordlessService
from tether.domain.ports import RateLimiter
from tether.domain.sessions import SessionService
from tether.domain.sign_in_linking import SignInLinking
from tether.domain.tenants import TenantService
from tether.domain.tokens import TokenService
from tether.domain.user_admin import UserAdmin
from tether.domain.users import DatabaseUsers
from tether.domain.verification import EmailVerification


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    limiter: RateLimiter
    keys: KeyService
    tenants: TenantService
    applications: ApplicationService
    apis: ApiService
    connections: ConnectionService
    users: DatabaseUsers
    tokens: TokenService
    mail: MailService
    sessions: SessionService
    authorization: AuthorizationService
    user_admin: UserAdmin
    logs: LogService
    linking: LinkingService
    passwordless: PasswordlessService
    cross_origin: CrossOriginService
    federation: FederationService
    admins: AdminService
    hosted_apps: HostedApps
    account: AccountService
    jobs: JobService
    access: AccessCheck
    guard: BruteForceGuard
    verification: EmailVerification
    verification_jobs: VerificationEmailJobs
    health: HealthService
    metrics: Metrics
    sign_in_linking: SignInLinking


class Wiring(Protocol):
    """What ``create_app`` takes from the composition root: the services, and how to release
    what they hold (the database pool) when the app shuts down."""

    @property
    def services(self) -> Services: ...

    async def close(self) -> None: ...
