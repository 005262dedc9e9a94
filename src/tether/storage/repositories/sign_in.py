"""A password sign-in's one read (issue 13, decision 4: "credential, identity, user and
identities in one statement"), for ``Credentials.with_user``.

Kept apart from the users repository's other queries, which linking and the Management API use.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.domain.models import Identity, PasswordCredential, User
from tether.storage import tables as t
from tether.storage.repositories.base import to_record

_CREDENTIAL_FIELDS = [f.name for f in fields(PasswordCredential)]
_IDENTITY_FIELDS = [f.name for f in fields(Identity)]
_QUERY: sa.Select[Any] | None = None


def _query() -> sa.Select[Any]:
    """The credential (``cred_``-labelled), the user of its identity (its columns by name, NULL
    when that user is gone or in another tenant) and every identity of that user
    (``idn_``-labelled, primary first, then by link time, as the users repository orders them).
    Built once and run with parameters: building it per sign-in (its cache key over every
    column) cost more CPU than running it."""
    global _QUERY
    if _QUERY is not None:
        return _QUERY
    cred = t.password_credentials
    owner = t.identities.alias("owner")
    idn = t.identities
    query: sa.Select[Any] = (
        sa.select(
            *(c.label(f"cred_{c.name}") for c in cred.c),
            t.users,
            *(c.label(f"idn_{c.name}") for c in idn.c),
            t.connections.c.name.label("idn_connection_name"),
        )
        .select_from(
            cred.join(owner, owner.c.id == cred.c.identity_id)
            .outerjoin(
                t.users,
                sa.and_(t.users.c.pk == owner.c.user_pk, t.users.c.tenant_id == cred.c.tenant_id),
            )
            .outerjoin(idn, idn.c.user_pk == t.users.c.pk)
            .outerjoin(t.connections, t.connections.c.id == idn.c.connection_id)
        )
        .where(
            cred.c.tenant_id == sa.bindparam("b_tenant"),
            cred.c.connection_id == sa.bindparam("b_connection"),
            cred.c.email == sa.bindparam("b_email"),
        )
        .order_by(idn.c.is_primary.desc(), idn.c.linked_at)
    )
    _QUERY = query
    return query


async def credential_with_user(
    conn: AsyncConnection, tenant_id: str, connection_id: str, email: str
) -> tuple[PasswordCredential, User | None] | None:
    """The credential for ``email`` on the connection, with its user and the user's identities;
    None without a credential, ``(credential, None)`` when its user is missing."""
    params = {"b_tenant": tenant_id, "b_connection": connection_id, "b_email": email}
    rows = (await conn.execute(_query(), params)).all()
    if not rows:
        return None
    first = rows[0]._mapping
    credential = PasswordCredential(**{name: first[f"cred_{name}"] for name in _CREDENTIAL_FIELDS})
    if first["pk"] is None:
        return credential, None
    user = to_record(User, rows[0])
    for row in rows:
        data = row._mapping
        if data["idn_id"] is not None:
            user.identities.append(
                Identity(**{name: data[f"idn_{name}"] for name in _IDENTITY_FIELDS})
            )
    return credential, user
