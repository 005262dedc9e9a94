"""The authorization endpoint's decisions (RFC 6749 §4.1, OIDC Core §3.1.2).

The web layer parses and renders; this service decides: is the client and its callback good,
must the person sign in (again), may the answer be silent, and then it mints the code. Requests
waiting for a sign-in are parked as LoginTransactions in the database, so any process can finish
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from tether.domain.clock import Clock, epoch
from tether.domain.configuration import Configuration
from tether.domain.errors import DomainError, ErrorKind, InvalidInput, NotFound
from tether.domain.ids import hash_token, new_id, new_secret
from tether.domain.models import (
    JSON,
    Application,
    AppType,
    AuthorizationCode,
    Consent,
    LoginTransaction,
    Session,
    Tenant,
    User,
)
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.tokens import TokenService
from tether.protocol import authorize as authz
from tether.protocol import redirect_uris
from tether.protocol.errors import InvalidRequest, InvalidScope, UnauthorizedClient
from tether.protocol.grants import GrantType

CODE_LIFETIME = timedelta(seconds=60)
TRANSACTION_LIFETIME = timedelta(minutes=30)
IMPLICIT = "implicit"


class BadAuthorizeRequest(DomainError):
    """The client or redirect URI cannot be trusted: show a page, never redirect."""

    code = "invalid_request"
    kind = ErrorKind.INVALID_INPUT


@dataclass(frozen=True)
class NeedsLogin:
    """The person must sign in (or sign in again) before the request can be answered."""

    reason: str


@dataclass(frozen=True)
class NeedsConsent:
    scopes: tuple[str, ...]


class AuthorizationService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        tokens: TokenService,
        clock: Clock,
        configuration: Configuration,
    ):
        self._uow = uow
        self._tokens = tokens
        self._clock = clock
        self._configuration = configuration

    # -- phase one: client and callback -------------------------------------------

    async def client_for(
        self, tenant: Tenant, params: Mapping[str, str]
    ) -> tuple[Application, str]:
        """RFC 6749 §4.1.2.1: until this passes, errors are never redirected. Returns the app and
        the redirect URI to use from now on: the one the matcher rendered (RFC 8252 §7.3)."""
        client_id = params.get("client_id")
        if not client_id:
            raise BadAuthorizeRequest("Missing required parameter: client_id")
        # From the configuration read model (DESIGN.md, "Hot paths"): no SQL.
        app = (await self._configuration.of(tenant.id)).applications.get(client_id)
        if app is None:
            raise BadAuthorizeRequest("Unknown client: the client_id is not registered.")
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise BadAuthorizeRequest("Missing required parameter: redirect_uri")
        matched = redirect_uris.match(
            app.callbacks, redirect_uri, native=app.app_type is AppType.NATIVE
        )
        if matched is None:
            raise BadAuthorizeRequest(
                "The redirect_uri is not one of the application's allowed callback URLs."
            )
        return app, matched

    # -- phase two: the rest of the request ------------------------------------------

    async def validate(
        self, tenant: Tenant, app: Application, params: Mapping[str, str]
    ) -> authz.AuthorizationRequest:
        req = authz.parse(params, redirect_uri=params["redirect_uri"])
        if req.is_code:
            if GrantType.AUTHORIZATION_CODE.value not in app.grant_types:
                raise UnauthorizedClient("The application may not use the authorization code flow.")
            if app.is_public and req.code_challenge is None:
                # RFC 9700 §2.1.1: public clients must use PKCE.
                raise InvalidRequest("code_challenge is required for this application (PKCE).")
        elif IMPLICIT not in app.grant_types:
            raise UnauthorizedClient("The implicit flow is not enabled for this application.")
        if req.response_mode == "web_message":
            origin = authz.origin_of(req.redirect_uri)
            if origin not in app.web_origins:
                raise InvalidRequest(
                    "response_mode=web_message needs the callback's origin in the application's web origins."
                )
        config = await self._configuration.of(tenant.id)
        if req.audience:
            if req.audience not in config.apis:
                raise InvalidRequest(f"Service not found: {req.audience}")
        if req.connection:
            connection = config.connections.get(req.connection)
            if connection is None or app.client_id not in connection.enabled_clients:
                raise InvalidRequest("The connection is not enabled for this application.")
        if not req.scope:
            raise InvalidScope("The scope parameter is empty.")
        return req

    # -- deciding ------------------------------------------------------------------

    def needs_login(
        self, req: authz.AuthorizationRequest, session: Session | None, now: datetime
    ) -> NeedsLogin | None:
        """OIDC Core §3.1.2.3: prompt=login and max_age force a fresh sign-in."""
        if session is None:
            return NeedsLogin("no session")
        if "login" in req.prompt:
            return NeedsLogin("prompt=login")
        if req.max_age == 0:
            # OIDC Core §3.1.2.1 (errata set 2): max_age=0 is prompt=login, whatever the clock.
            return NeedsLogin("max_age")
        if req.max_age is not None and epoch(now) - epoch(session.auth_time) > req.max_age:
            return NeedsLogin("max_age")
        return None

    async def needs_consent(
        self, tenant: Tenant, app: Application, user_pk: str, req: authz.AuthorizationRequest
    ) -> NeedsConsent | None:
        """Only third-party applications ask for consent; first-party ones are trusted."""
        if app.is_first_party:
            return None
        async with self._uow(read_only=True) as uow:
            consent = await uow.consents.get(tenant.id, user_pk, app.client_id)
        if consent is not None and set(req.scope) <= set(consent.scope):
            return None
        return NeedsConsent(req.scope)

    async def grant_consent(
        self, tenant: Tenant, app: Application, user_pk: str, scopes: list[str]
    ) -> None:
        async with self._uow() as uow:
            existing = await uow.consents.get(tenant.id, user_pk, app.client_id)
            merged = sorted(set(scopes) | set(existing.scope if existing else []))
            await uow.consents.save(
                Consent(tenant.id, user_pk, app.client_id, merged, self._clock.now())
            )
            await uow.commit()

    # -- transactions ------------------------------------------------------------------

    async def park(
        self, tenant: Tenant, req: authz.AuthorizationRequest, *, extra: JSON | None = None
    ) -> str:
        """Park a request for the hosted pages; ``extra`` keeps values beside it (a magic
        link's browser binding), which ``AuthorizationRequest.from_dict`` ignores."""
        now = self._clock.now()
        tx = LoginTransaction(
            id=new_secret(24),
            tenant_id=tenant.id,
            client_id=req.client_id,
            request={**req.to_dict(), **(extra or {})},
            created_at=now,
            expires_at=now + TRANSACTION_LIFETIME,
        )
        async with self._uow() as uow:
            await uow.transactions.add(tx)
            await uow.commit()
        return tx.id

    async def transaction(
        self, tenant: Tenant, tx_id: str | None
    ) -> tuple[LoginTransaction, Application]:
        """A parked request that is still open, with its application."""
        if not tx_id:
            raise InvalidInput(
                "This sign-in link is incomplete. Go back to the application and try again.",
                code="invalid_state",
            )
        async with self._uow(read_only=True) as uow:
            tx = await uow.transactions.get(tenant.id, tx_id)
            app = await uow.applications.by_client_id(tenant.id, tx.client_id) if tx else None
        if (
            tx is None
            or app is None
            or tx.completed_at is not None
            or tx.expires_at < self._clock.now()
        ):
            raise NotFound(
                "This sign-in has expired or was already used. Go back to the application and try again.",
                code="invalid_state",
            )
        return tx, app

    async def record_login(
        self, tenant: Tenant, tx: LoginTransaction, user: User, session: Session
    ) -> None:
        """The person signed in for this transaction."""
        tx.user_pk, tx.auth_time, tx.session_id = user.pk, session.auth_time, session.id
        async with self._uow() as uow:
            await uow.transactions.update(tx)
            await uow.commit()

    async def finish(self, tenant: Tenant, tx: LoginTransaction) -> bool:
        async with self._uow() as uow:
            done = await uow.transactions.complete(tx.id, self._clock.now())
            await uow.commit()
        return done

    # -- answering --------------------------------------------------------------------

    async def respond(
        self,
        tenant: Tenant,
        app: Application,
        req: authz.AuthorizationRequest,
        user_pk: str,
        session: Session,
    ) -> dict[str, str]:
        """The success parameters: a code, or (implicit, when enabled) tokens."""
        now = self._clock.now()
        if req.is_code:
            code = new_secret(32)
            async with self._uow() as uow:
                await uow.codes.add(
                    AuthorizationCode(
                        id=new_id("code_"),
                        tenant_id=tenant.id,
                        code_hash=hash_token(code),
                        client_id=app.client_id,
                        redirect_uri=req.redirect_uri,
                        user_pk=user_pk,
                        scope=list(req.scope),
                        audience=req.audience,
                        nonce=req.nonce,
                        code_challenge=req.code_challenge,
                        auth_time=session.auth_time,
                        session_id=session.id,
                        created_at=now,
                        expires_at=now + CODE_LIFETIME,
                    )
                )
                await uow.commit()
            return authz.response_params({"code": code}, issuer=tenant.issuer, state=req.state)
        values = await self._tokens.implicit(tenant, app, req, user_pk, session)
        return authz.response_params(values, issuer=tenant.issuer, state=req.state)
