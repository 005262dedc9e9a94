"""Users and what hangs on one user: identities, password credentials, retired ids, reset and
verification tickets, login blocks."""

from __future__ import annotations

import sqlalchemy as sa

from tether.storage.tables.base import ID, metadata, tenant_fk

users = sa.Table(
    "users",
    metadata,
    sa.Column("pk", ID, primary_key=True),
    tenant_fk(),
    sa.Column("user_id", sa.String(512), nullable=False),
    sa.Column("email", sa.String(320)),
    sa.Column("email_verified", sa.Boolean, nullable=False, default=False),
    sa.Column("username", sa.String(128)),
    sa.Column("name", sa.String(512)),
    sa.Column("given_name", sa.String(256)),
    sa.Column("family_name", sa.String(256)),
    sa.Column("nickname", sa.String(256)),
    sa.Column("picture", sa.String(2048)),
    sa.Column("user_metadata", sa.JSON, nullable=False),
    sa.Column("app_metadata", sa.JSON, nullable=False),
    sa.Column("blocked", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("last_login", sa.DateTime),
    sa.Column("logins_count", sa.Integer, nullable=False, default=0),
    sa.Column("last_ip", sa.String(64)),
    # Every user token Tether receives with an ``iat`` before this instant is refused
    # (domain/access.py); moved by a credential change, block, unlink, delete and detach.
    sa.Column("tokens_valid_after", sa.DateTime),
    sa.UniqueConstraint("tenant_id", "user_id"),
)
sa.Index("ix_users_tenant_email", users.c.tenant_id, users.c.email)
# User search (storage/search.py) and users-by-email compare emails case-insensitively.
sa.Index("ix_users_tenant_email_lower", users.c.tenant_id, sa.func.lower(users.c.email))
# Each process polls the instants moved since its last look (domain/access.py).
sa.Index("ix_users_tokens_valid_after", users.c.tokens_valid_after)


identities = sa.Table(
    "identities",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("connection_id", ID, sa.ForeignKey("connections.id"), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(512), nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False),
    sa.Column("is_social", sa.Boolean, nullable=False),
    sa.Column("profile_data", sa.JSON, nullable=False),
    sa.Column("linked_at", sa.DateTime),
    sa.Column("link_reason", sa.JSON),
    sa.Column("detached", sa.JSON),
    sa.Column("linked_unverified", sa.Boolean, nullable=False, server_default=sa.false()),
    # Invariant 2: (tenant, connection, subject) is one identity.
    sa.UniqueConstraint("tenant_id", "connection_id", "subject"),
)
sa.Index("ix_identities_user_pk", identities.c.user_pk)
# Invariant 1: exactly one primary identity per user.
sa.Index(
    "uq_identities_one_primary",
    identities.c.user_pk,
    unique=True,
    sqlite_where=sa.text("is_primary"),
    postgresql_where=sa.text("is_primary"),
)


password_credentials = sa.Table(
    "password_credentials",
    metadata,
    sa.Column(
        "identity_id", ID, sa.ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    ),
    tenant_fk(),
    sa.Column("connection_id", ID, sa.ForeignKey("connections.id"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("password_hash", sa.String(512), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "connection_id", "email"),
)


retired_user_ids = sa.Table(
    "retired_user_ids",
    metadata,
    tenant_fk(),
    sa.Column("user_id", sa.String(512), nullable=False),
    sa.Column("retired_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "user_id"),
)
# A retired id's tokens end when it is retired; processes poll these too (domain/access.py).
sa.Index("ix_retired_user_ids_retired_at", retired_user_ids.c.retired_at)


password_tickets = sa.Table(
    "password_tickets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("ticket_hash", sa.String(64), nullable=False),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "identity_id", ID, sa.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
    sa.UniqueConstraint("tenant_id", "ticket_hash"),
)


# Email verification links (domain/verification.py): ``ticket_hash`` is the SHA-256 of the
# single-use ticket mailed or handed out; it verifies ``email`` only while the user still has it.
verification_tickets = sa.Table(
    "verification_tickets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("ticket_hash", sa.String(64), nullable=False),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("result_url", sa.String(2048)),
    sa.Column("include_email", sa.Boolean, nullable=False, default=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
    sa.UniqueConstraint("tenant_id", "ticket_hash"),
)
sa.Index("ix_verification_tickets_user_pk", verification_tickets.c.user_pk)


# Brute-force protection (Auth0's): consecutive failed sign-ins per (connection, identifier, IP).
# ``failures`` is bumped before the credential is checked; when it reaches the tenant's limit the
# IP is blocked for the identifier until ``blocked_until``, an admin, or the mailed link
# (``unblock_hash``, the SHA-256 of a single-use token) lifts it.
login_blocks = sa.Table(
    "login_blocks",
    metadata,
    tenant_fk(),
    sa.Column("connection", sa.String(128), nullable=False),
    sa.Column("identifier", sa.String(320), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("blocked_until", sa.DateTime),
    sa.Column("blocked_at", sa.DateTime),
    sa.Column("unblock_hash", sa.String(64)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "connection", "identifier", "ip"),
)
sa.Index("ix_login_blocks_identifier", login_blocks.c.tenant_id, login_blocks.c.identifier)
sa.Index("ix_login_blocks_unblock_hash", login_blocks.c.unblock_hash, unique=True)
