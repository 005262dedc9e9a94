"""Tenants, their signing keys and the dashboard's administrators."""

from __future__ import annotations

import sqlalchemy as sa

from tether.storage.tables.base import ID, metadata, tenant_fk

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(63), nullable=False, unique=True),
    sa.Column("public_url", sa.String(2048), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    sa.Column("settings", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # Bumped by every change to the tenant's configuration, in its transaction (storage/uow.py).
    sa.Column("config_version", sa.BigInteger, nullable=False, server_default="0"),
)
# At most one default tenant.
sa.Index(
    "uq_tenants_one_default",
    tenants.c.is_default,
    unique=True,
    sqlite_where=sa.text("is_default"),
    postgresql_where=sa.text("is_default"),
)


signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("kid", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("encrypted_private_key", sa.LargeBinary, nullable=False),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("rotated_at", sa.DateTime),
    sa.UniqueConstraint("tenant_id", "kid"),
)


# Who may use the dashboard (tether admins add EMAIL): a role per (tenant, user).
admins = sa.Table(
    "admins",
    metadata,
    tenant_fk(),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "user_pk"),
)
