"""Tether's own pages as first-party applications: the dashboard and the Linked accounts page.

Each is an application of the tenant, made on first use ("Tether Dashboard", "Tether Account",
regular web apps whose callback is ``<issuer>dashboard/callback`` or ``<issuer>account/callback``).
A page that needs a signed-in person uses the browser's SSO session when there is one; else it
sends the person through ``/authorize`` of its application (PKCE, nonce, a state bound to the
browser by a cookie) and, at the callback, redeems the code and checks the ID token like any
relying party.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from tether.domain.account_records import AccountFlow
from tether.domain.applications import ApplicationService, NewApplication
from tether.domain.audit import RequestInfo
from tether.domain.clock import Clock, epoch
from tether.domain.errors import Forbidden, InvalidInput
from tether.domain.ids import hash_token, new_secret
from tether.domain.keys import KeyService
from tether.domain.models import Application, AppType, Session, Tenant, User
from tether.domain.tokens import TokenService
from tether.protocol import jose, pkce
from tether.protocol.errors import OAuth2Error
from tether.protocol.grants import GrantType

if TYPE_CHECKING:
    from tether.domain.ports import UnitOfWorkFactory

DASHBOARD = "dashboard"
ACCOUNT = "account"
APP_NAMES = {DASHBOARD: "Tether Dashboard", ACCOUNT: "Tether Account"}
#: How recent a sign-in must be to link or unlink on the Linked accounts page.
REAUTH_WINDOW = timedelta(minutes=10)
FLOW_LIFETIME = timedelta(minutes=10)
APP_CACHE_SECONDS = 30.0

SIGN_IN = "signin"
REAUTH = "reauth"
LINK = "link"
PURPOSES = (SIGN_IN, REAUTH, LINK)


@dataclass(frozen=True)
class StartedFlow:
    state: str
    authorize_url: str  # a path on this tenant: /authorize?...


@dataclass(frozen=True)
class FinishedFlow:
    flow: AccountFlow
    user: User
    session_id: str | None
    auth_time: datetime
    id_token: str


def only_path(value: str | None, default: str) -> str:
    """A return address on this site: an absolute path, never another origin."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x20 for c in value) or len(value) > 500:
        return default
    return value


class HostedApps:
    """The dashboard's and the account page's own applications and their sign-in flows."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        applications: ApplicationService,
        tokens: TokenService,
        keys: KeyService,
        clock: Clock,
    ):
        self._uow = uow
        self._applications = applications
        self._tokens = tokens
        self._keys = keys
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Application]] = {}

    @staticmethod
    def callback(tenant: Tenant, kind: str) -> str:
        return f"{tenant.issuer}{kind}/callback"

    async def ensure(self, tenant: Tenant, kind: str) -> Application:
        """The application for ``kind``, created on first use and enabled on every connection
        of the tenant (so any identity can sign in to these pages and be linked)."""
        key = (tenant.id, kind)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < APP_CACHE_SECONDS:
            return cached[1]
        callback = self.callback(tenant, kind)
        async with self._uow() as uow:
            app = next(
                (
                    a
                    for a in await uow.applications.list(tenant.id)
                    if a.is_first_party and callback in a.callbacks
                ),
                None,
            )
            if app is None:
                created = await self._applications.add(
                    uow.applications,
                    tenant,
                    NewApplication(
                        name=APP_NAMES[kind],
                        app_type=AppType.REGULAR_WEB,
                        callbacks=(callback,),
                        grant_types=(GrantType.AUTHORIZATION_CODE.value,),
                        token_endpoint_auth_method="client_secret_post",
                        description=f"Tether's own {kind} pages. Made by Tether on first use.",
                    ),
                )
                app = created.application
            for connection in await uow.connections.list(tenant.id):
                if app.client_id not in connection.enabled_clients:
                    await uow.connections.set_enabled_clients(
                        tenant.id, connection.id, [*connection.enabled_clients, app.client_id]
                    )
            await uow.commit()
        self._cache[key] = (time.monotonic(), app)
        return app

    async def start(
        self,
        tenant: Tenant,
        kind: str,
        purpose: str,
        *,
        return_to: str,
        user: User | None = None,
        session: Session | None = None,
        login_hint: str | None = None,
    ) -> StartedFlow:
        """Park a flow and name the /authorize request that runs it."""
        if purpose not in PURPOSES:
            raise InvalidInput(f"Unknown purpose {purpose}.")
        app = await self.ensure(tenant, kind)
        now = self._clock.now()
        state = new_secret(32)
        verifier = new_secret(48)
        flow = AccountFlow(
            id=hash_token(state),
            tenant_id=tenant.id,
            client_id=app.client_id,
            purpose=purpose,
            code_verifier=verifier,
            nonce=new_secret(24),
            return_to=only_path(return_to, f"/{kind}"),
            created_at=now,
            expires_at=now + FLOW_LIFETIME,
            user_pk=user.pk if user else None,
            session_id=session.id if session else None,
        )
        async with self._uow() as uow:
            await uow.account_flows.add(flow)
            await uow.commit()
        params = {
            "client_id": app.client_id,
            "redirect_uri": self.callback(tenant, kind),
            "response_type": "code",
            "response_mode": "query",
            "scope": "openid profile email",
            "state": state,
            "nonce": flow.nonce,
            "code_challenge": pkce.s256(verifier),
            "code_challenge_method": "S256",
        }
        if purpose in (REAUTH, LINK):
            params["prompt"] = "login"
        if login_hint:
            params["login_hint"] = login_hint
        return StartedFlow(state, "/authorize?" + urlencode(params))

    async def finish(
        self,
        tenant: Tenant,
        kind: str,
        state: str,
        code: str,
        request: RequestInfo,
    ) -> FinishedFlow:
        """Redeem the callback's code for the flow ``state`` names, once; the ID token's user."""
        expired = Forbidden(
            "This sign-in has expired or was already used. Start again.", code="invalid_state"
        )
        if not state or not code:
            raise expired
        app = await self.ensure(tenant, kind)
        now = self._clock.now()
        async with self._uow() as uow:
            flow = await uow.account_flows.take(tenant.id, hash_token(state), now)
            await uow.commit()
        if flow is None or flow.client_id != app.client_id:
            raise expired
        try:
            tokens = await self._tokens.authorization_code(
                tenant, app, code, self.callback(tenant, kind), flow.code_verifier, request
            )
            keyset = await self._keys.keyset(tenant)
            if not tokens.id_token:
                raise expired
            claims = jose.verify(
                tokens.id_token,
                keyset.public_jwks,
                issuer=tenant.issuer,
                audience=app.client_id,
                now=epoch(now),
                leeway=5,
            )
        except (OAuth2Error, jose.TokenRejected) as exc:
            raise expired from exc
        if claims.get("nonce") != flow.nonce or not isinstance(claims.get("auth_time"), int):
            raise expired
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(tenant.id, str(claims.get("sub")))
        if user is None:
            raise expired
        auth_time = datetime(1970, 1, 1) + timedelta(seconds=int(claims["auth_time"]))
        sid = claims.get("sid")
        return FinishedFlow(
            flow, user, sid if isinstance(sid, str) else None, auth_time, tokens.id_token
        )
