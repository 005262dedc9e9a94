"""Signing in through an upstream provider (OIDC, Google, GitHub, generic OAuth 2).

Tether is the relying party here: it sends the person to the provider with ``state``, ``nonce``
and PKCE, and on the way back (``<issuer>login/callback``) it takes the flow once, lets the
adapter check the provider's answer, and signs the person in as the identity
(connection, provider's subject). Failures go back to the application as ``access_denied`` or
``server_error``; nothing is created.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock
from tether.domain.errors import DomainError, ErrorKind
from tether.domain.external import ExternalProfile, ExternalSignIn
from tether.domain.ids import new_secret
from tether.domain.models import (
    Application,
    Connection,
    LoginTransaction,
    Tenant,
    UpstreamFlow,
    User,
)
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.sealing import Sealer

log = logging.getLogger("tether.federation")
FLOW_LIFETIME = timedelta(minutes=10)
UPSTREAM_STRATEGIES = frozenset({"oidc", "google-oauth2", "github", "oauth2"})


class UpstreamFailure(DomainError):
    """The provider said no, or could not be trusted. ``error`` is what the app is told."""

    code = "upstream_failure"
    kind = ErrorKind.UPSTREAM

    def __init__(self, message: str, *, error: str = "server_error", tx_id: str | None = None):
        super().__init__(message)
        self.error = error
        self.tx_id = tx_id


@dataclass(frozen=True)
class UpstreamConfig:
    """A connection's options with its client secret opened."""

    connection: Connection
    client_id: str
    client_secret: str
    options: dict[str, Any] = field(default_factory=dict)
    #: The operator's TETHER_FEDERATION_PRIVATE_NETWORKS, never anything from the options.
    private_networks: tuple[str, ...] = ()


class Upstream(Protocol):
    async def authorization_url(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
    ) -> str: ...

    async def exchange(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        nonce: str,
    ) -> ExternalProfile: ...


class Upstreams(Protocol):
    def for_strategy(self, strategy: str) -> Upstream: ...


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


SEALED_OPTION = "client_secret_sealed"
UPSTREAM_FAILED = (
    "The identity provider could not complete the sign-in. Try again later, "
    "or choose another way to sign in."
)


class FederationService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        upstreams: Upstreams,
        external: ExternalSignIn,
        sealer: Sealer,
        audit: Audit,
        clock: Clock,
        *,
        private_networks: tuple[str, ...] = (),
    ):
        self._private_networks = private_networks
        self._uow = uow
        self._upstreams = upstreams
        self._external = external
        self._sealer = sealer
        self._audit = audit
        self._clock = clock

    def config(self, connection: Connection) -> UpstreamConfig:
        options = dict(connection.options)
        sealed = options.pop(SEALED_OPTION, None)
        secret = ""
        if isinstance(sealed, str) and sealed:
            secret = self._sealer.open(connection.tenant_id, base64.b64decode(sealed)).decode()
        client_id = str(options.get("client_id") or "")
        return UpstreamConfig(connection, client_id, secret, options, self._private_networks)

    async def begin(
        self,
        tenant: Tenant,
        tx: LoginTransaction,
        connection: Connection,
        *,
        reauthenticate: bool = False,
    ) -> str:
        """Park the flow (state, nonce, PKCE verifier) and give the provider's URL. With
        ``reauthenticate`` an OpenID provider is asked for a fresh sign-in (OIDC Core §3.1.2.1
        ``prompt=login``): the proof the link prompt at sign-in asks for."""
        if connection.strategy not in UPSTREAM_STRATEGIES:
            raise UpstreamFailure(
                f"{connection.strategy} is not an upstream provider.", tx_id=tx.id
            )
        now = self._clock.now()
        flow = UpstreamFlow(
            id=new_secret(24),
            tenant_id=tenant.id,
            tx_id=tx.id,
            connection_id=connection.id,
            nonce=new_secret(24),
            code_verifier=new_secret(48),
            created_at=now,
            expires_at=now + FLOW_LIFETIME,
        )
        async with self._uow() as uow:
            await uow.upstream_flows.add(flow)
            await uow.commit()
        upstream = self._upstreams.for_strategy(connection.strategy)
        try:
            url = await upstream.authorization_url(
                self.config(connection),
                redirect_uri=tenant.issuer + "login/callback",
                state=flow.id,
                nonce=flow.nonce,
                code_challenge=_challenge(flow.code_verifier),
            )
            if reauthenticate and connection.strategy in ("oidc", "google-oauth2"):
                url += "&prompt=login"
            return url
        except UpstreamFailure as exc:
            # The detail (refused as private, DNS, timeout, the status it answered) would tell
            # whoever set the URL what lies behind it: it goes to the server log only.
            log.warning("upstream sign-in could not start on %s: %s", connection.name, exc.message)
            raise UpstreamFailure(UPSTREAM_FAILED, tx_id=tx.id) from exc

    async def finish(
        self,
        tenant: Tenant,
        state: str | None,
        code: str | None,
        error: str | None,
        request: RequestInfo = NO_REQUEST,
    ) -> tuple[LoginTransaction, Application, User]:
        """Take the flow once, check the provider's answer, sign the person in."""
        now = self._clock.now()
        if not state:
            message = "The provider's answer has no state."
            await self.log_failure(tenant, message, request)
            raise UpstreamFailure(message)
        async with self._uow() as uow:
            flow = await uow.upstream_flows.take(tenant.id, state, now)
            tx = await uow.transactions.get(tenant.id, flow.tx_id) if flow else None
            app = await uow.applications.by_client_id(tenant.id, tx.client_id) if tx else None
            connection = await uow.connections.get(tenant.id, flow.connection_id) if flow else None
            await uow.commit()
        if flow is None or tx is None or app is None or connection is None:
            # A replayed or made-up callback: logged like any other refused sign-in.
            message = "This sign-in is unknown, expired or was already used."
            await self.log_failure(tenant, message, request, app=app, connection=connection)
            raise UpstreamFailure(message)
        try:
            if error:
                raise UpstreamFailure(f"The provider refused: {error[:100]}", error="access_denied")
            if not code:
                raise UpstreamFailure("The provider's answer has no code.")
            upstream = self._upstreams.for_strategy(connection.strategy)
            profile = await upstream.exchange(
                self.config(connection),
                redirect_uri=tenant.issuer + "login/callback",
                code=code,
                code_verifier=flow.code_verifier,
                nonce=flow.nonce,
            )
            user = await self._external.sign_in(tenant, app, connection, profile, request)
        except UpstreamFailure as exc:
            await self.log_failure(tenant, exc.message, request, app=app, connection=connection)
            if exc.error == "access_denied":
                exc.tx_id = tx.id  # the provider's own refusal, passed on as it said it
                raise
            # One message for every failure talking to the provider (no reachability oracle):
            # the detail is in the log line and the tenant's failed-login event.
            raise UpstreamFailure(UPSTREAM_FAILED, tx_id=tx.id) from exc
        except DomainError as exc:
            await self.log_failure(tenant, exc.message, request, app=app, connection=connection)
            raise UpstreamFailure(exc.message, error="access_denied", tx_id=tx.id) from exc
        return tx, app, user

    async def log_failure(
        self,
        tenant: Tenant,
        message: str,
        request: RequestInfo,
        *,
        app: Application | None = None,
        connection: Connection | None = None,
    ) -> None:
        """A refused upstream sign-in: a log line and a failed-login event (``f``)."""
        where = connection.name if connection else "an unknown connection"
        log.warning("upstream sign-in failed on %s: %s", where, message)
        async with self._uow() as uow:
            await self._audit.record(
                uow,
                tenant.id,
                LogType.FAILED_LOGIN,
                request,
                description=message[:500],
                application=app,
                connection=connection,
            )
            await uow.commit()
