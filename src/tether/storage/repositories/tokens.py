"""One-time and long-lived credentials handed to clients: refresh tokens, password-change
tickets, authorization codes, passwordless codes and cross-origin login tickets (ports
RefreshTokens, PasswordTickets, Codes, Passwordless, LoginTickets)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tether.domain.models import (
    AuthorizationCode,
    LoginTicket,
    PasswordlessCode,
    PasswordTicket,
    RefreshToken,
)
from tether.storage import tables as t
from tether.storage.repositories.base import Repository, revoke_for_user, to_record, to_values

_REVOKE_FOR_USER = revoke_for_user(t.refresh_tokens)


class RefreshTokens(Repository):
    async def add(self, token: RefreshToken) -> None:
        await self._c.execute(t.refresh_tokens.insert(), to_values(token, t.refresh_tokens))

    async def by_hash(self, tenant_id: str, token_hash: str) -> RefreshToken | None:
        row = (
            await self._c.execute(
                sa.select(t.refresh_tokens).where(
                    t.refresh_tokens.c.tenant_id == tenant_id,
                    t.refresh_tokens.c.token_hash == token_hash,
                )
            )
        ).first()
        return to_record(RefreshToken, row) if row else None

    async def mark_used(self, token_id: str, at: datetime, replaced_by: str) -> bool:
        result = await self._c.execute(
            t.refresh_tokens.update()
            .where(t.refresh_tokens.c.id == token_id, t.refresh_tokens.c.used_at.is_(None))
            .values(used_at=at, replaced_by=replaced_by)
        )
        return result.rowcount == 1

    async def revoke_family(self, family_id: str, at: datetime) -> int:
        result = await self._c.execute(
            t.refresh_tokens.update()
            .where(
                t.refresh_tokens.c.family_id == family_id, t.refresh_tokens.c.revoked_at.is_(None)
            )
            .values(revoked_at=at)
        )
        return int(result.rowcount)

    async def revoke_for_user(self, tenant_id: str, user_pk: str, at: datetime) -> int:
        result = await self._c.execute(
            _REVOKE_FOR_USER, {"b_tenant": tenant_id, "b_user": user_pk, "at": at}
        )
        return int(result.rowcount)


class PasswordTickets(Repository):
    async def add(self, ticket: PasswordTicket) -> None:
        await self._c.execute(t.password_tickets.insert(), to_values(ticket, t.password_tickets))

    async def by_hash(self, tenant_id: str, ticket_hash: str) -> PasswordTicket | None:
        row = (
            await self._c.execute(
                sa.select(t.password_tickets).where(
                    t.password_tickets.c.tenant_id == tenant_id,
                    t.password_tickets.c.ticket_hash == ticket_hash,
                )
            )
        ).first()
        return to_record(PasswordTicket, row) if row else None

    async def mark_used(self, ticket_id: str, at: datetime) -> bool:
        result = await self._c.execute(
            t.password_tickets.update()
            .where(t.password_tickets.c.id == ticket_id, t.password_tickets.c.used_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    async def spend_for_user(self, tenant_id: str, user_pk: str, at: datetime) -> int:
        """Mark every outstanding ticket of the user used: none outlives a credential change."""
        result = await self._c.execute(
            t.password_tickets.update()
            .where(
                t.password_tickets.c.tenant_id == tenant_id,
                t.password_tickets.c.user_pk == user_pk,
                t.password_tickets.c.used_at.is_(None),
            )
            .values(used_at=at)
        )
        return int(result.rowcount)


class Codes(Repository):
    async def add(self, code: AuthorizationCode) -> None:
        await self._c.execute(
            t.authorization_codes.insert(), to_values(code, t.authorization_codes)
        )

    async def by_hash(self, tenant_id: str, code_hash: str) -> AuthorizationCode | None:
        row = (
            await self._c.execute(
                sa.select(t.authorization_codes).where(
                    t.authorization_codes.c.tenant_id == tenant_id,
                    t.authorization_codes.c.code_hash == code_hash,
                )
            )
        ).first()
        return to_record(AuthorizationCode, row) if row else None

    async def redeem(self, code_id: str, at: datetime, refresh_family_id: str | None) -> bool:
        result = await self._c.execute(
            t.authorization_codes.update()
            .where(t.authorization_codes.c.id == code_id, t.authorization_codes.c.used_at.is_(None))
            .values(used_at=at, refresh_family_id=refresh_family_id)
        )
        return result.rowcount == 1


class Passwordless(Repository):
    async def add(self, code: PasswordlessCode) -> None:
        await self._c.execute(t.passwordless_codes.insert(), to_values(code, t.passwordless_codes))

    async def latest(
        self, tenant_id: str, connection_id: str, email: str
    ) -> PasswordlessCode | None:
        c = t.passwordless_codes.c
        row = (
            await self._c.execute(
                sa.select(t.passwordless_codes)
                .where(c.tenant_id == tenant_id, c.connection_id == connection_id, c.email == email)
                .order_by(c.created_at.desc(), c.id.desc())
                .limit(1)
            )
        ).first()
        return to_record(PasswordlessCode, row) if row else None

    async def use(self, code_id: str, at: datetime) -> bool:
        c = t.passwordless_codes.c
        result = await self._c.execute(
            t.passwordless_codes.update()
            .where(c.id == code_id, c.used_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    async def fail(self, code_id: str) -> None:
        c = t.passwordless_codes.c
        await self._c.execute(
            t.passwordless_codes.update().where(c.id == code_id).values(attempts=c.attempts + 1)
        )


class LoginTickets(Repository):
    async def add(self, ticket: LoginTicket) -> None:
        await self._c.execute(t.login_tickets.insert(), to_values(ticket, t.login_tickets))

    async def take(
        self, tenant_id: str, ticket_id: str, verifier_hash: str, at: datetime
    ) -> LoginTicket | None:
        c = t.login_tickets.c
        spent = await self._c.execute(
            t.login_tickets.update()
            .where(
                c.tenant_id == tenant_id,
                c.id == ticket_id,
                c.verifier_hash == verifier_hash,
                c.used_at.is_(None),
                c.expires_at > at,
            )
            .values(used_at=at)
        )
        if spent.rowcount != 1:
            return None
        row = (await self._c.execute(sa.select(t.login_tickets).where(c.id == ticket_id))).first()
        return to_record(LoginTicket, row) if row else None

    async def pending(self, tenant_id: str, ticket_id: str, at: datetime) -> LoginTicket | None:
        c = t.login_tickets.c
        row = (
            await self._c.execute(
                sa.select(t.login_tickets).where(
                    c.tenant_id == tenant_id,
                    c.id == ticket_id,
                    c.used_at.is_(None),
                    c.expires_at > at,
                )
            )
        ).first()
        return to_record(LoginTicket, row) if row else None
