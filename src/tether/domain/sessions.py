"""Single sign-on sessions, kept on the server (ASVS 5.0 V7).

The browser holds a random 256-bit secret; the database holds its SHA-256. Every sign-in makes a
new session (V7.2.4). A session ends at its absolute lifetime, after its idle lifetime without
use, at logout, or when revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tether.domain.audit import Audit, LogType, RequestInfo
from tether.domain.clock import Clock
from tether.domain.ids import hash_token, new_id, new_secret
from tether.domain.models import Application, Session, Tenant, User
from tether.domain.ports import SessionRepo, UnitOfWorkFactory

DEFAULT_ABSOLUTE = timedelta(days=7)
DEFAULT_IDLE = timedelta(days=3)
#: Write last_seen at most this often, so reading a session is usually read-only.
TOUCH_EVERY = timedelta(minutes=1)


def lifetimes(tenant: Tenant) -> tuple[timedelta, timedelta]:
    absolute = int(
        tenant.settings.get("session_absolute_seconds") or DEFAULT_ABSOLUTE.total_seconds()
    )
    idle = int(tenant.settings.get("session_idle_seconds") or DEFAULT_IDLE.total_seconds())
    return timedelta(seconds=absolute), timedelta(seconds=idle)


@dataclass(frozen=True)
class StartedSession:
    session: Session
    cookie_value: str


class SessionService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: Audit):
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def sign_in(
        self, tenant: Tenant, user: User, amr: list[str], replaces: str | None = None
    ) -> StartedSession:
        """A new session in its own transaction (ASVS 5.0 V7.2.4: a fresh id at every
        sign-in); ``replaces`` as in ``start``."""
        async with self._uow() as uow:
            started = await self.start(uow.sessions, tenant, user, amr, replaces=replaces)
            await uow.commit()
        return started

    async def sign_out(
        self,
        tenant: Tenant,
        cookie_value: str | None,
        request: RequestInfo,
        application: Application | None = None,
    ) -> Session | None:
        """OIDC RP-Initiated Logout 1.0 §2: end the session this cookie names and record the
        ``slo`` event, in one transaction."""
        if not cookie_value:
            return None
        async with self._uow() as uow:
            session = await uow.sessions.by_token_hash(tenant.id, hash_token(cookie_value))
            if session is None:
                return None
            await uow.sessions.revoke(session.id, self._clock.now())
            user = await uow.users.by_pk(tenant.id, session.user_pk)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_LOGOUT,
                request,
                application=application,
                user=user,
            )
            await uow.commit()
        return session

    async def start(
        self,
        sessions: SessionRepo,
        tenant: Tenant,
        user: User,
        amr: list[str],
        replaces: str | None = None,
    ) -> StartedSession:
        """A new session, written through the caller's ``sessions`` repository (the caller
        commits). ``replaces``: the cookie of a session this browser had, which ends now (no
        session fixation)."""
        now = self._clock.now()
        if replaces:
            old = await sessions.by_token_hash(tenant.id, hash_token(replaces))
            if old is not None:
                await sessions.revoke(old.id, now)
        absolute, idle = lifetimes(tenant)
        return await _add(
            sessions,
            tenant.id,
            user,
            now,
            auth_time=now,
            expires_at=now + absolute,
            idle_expires_at=now + idle,
            amr=amr,
        )

    async def resume(self, sessions: SessionRepo, user: User, old: Session) -> StartedSession:
        """A new session that carries on ``old`` (its sign-in time, lifetimes and methods) after
        every session of the user ended (an unlink on the Linked accounts page), written through
        the caller's ``sessions`` repository (the caller commits)."""
        return await _add(
            sessions,
            old.tenant_id,
            user,
            self._clock.now(),
            auth_time=old.auth_time,
            expires_at=old.expires_at,
            idle_expires_at=old.idle_expires_at,
            amr=list(old.amr),
        )

    def is_live(self, session: Session, tenant: Tenant, now: datetime) -> bool:
        _, idle = lifetimes(tenant)
        return (
            session.revoked_at is None
            and now < session.expires_at
            and now < session.last_seen_at + idle
        )

    async def current(self, tenant: Tenant, cookie_value: str | None) -> Session | None:
        """The live session this cookie names, its idle timer refreshed; else None."""
        if not cookie_value:
            return None
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.by_token_hash(tenant.id, hash_token(cookie_value))
            if session is None or not self.is_live(session, tenant, now):
                return None
            if now - session.last_seen_at >= TOUCH_EVERY:
                await uow.sessions.touch(session.id, now)
                await uow.commit()
                session.last_seen_at = now
        return session

    async def end(self, tenant: Tenant, cookie_value: str | None) -> Session | None:
        if not cookie_value:
            return None
        async with self._uow() as uow:
            session = await uow.sessions.by_token_hash(tenant.id, hash_token(cookie_value))
            if session is not None:
                await uow.sessions.revoke(session.id, self._clock.now())
                await uow.commit()
        return session


async def _add(
    sessions: SessionRepo,
    tenant_id: str,
    user: User,
    now: datetime,
    *,
    auth_time: datetime,
    expires_at: datetime,
    idle_expires_at: datetime,
    amr: list[str],
) -> StartedSession:
    """Store a new session; the cookie's secret is returned once and only its hash is kept."""
    secret = new_secret(32)
    session = Session(
        id=new_id("ses_"),
        tenant_id=tenant_id,
        token_hash=hash_token(secret),
        user_pk=user.pk,
        created_at=now,
        auth_time=auth_time,
        last_seen_at=now,
        expires_at=expires_at,
        idle_expires_at=idle_expires_at,
        amr=amr,
    )
    await sessions.add(session)
    return StartedSession(session, secret)
