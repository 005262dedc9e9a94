"""Sign-in state: sessions, refresh tokens, login transactions, codes, consents, upstream flows,
account flows, link choices and login tickets."""

from __future__ import annotations

import sqlalchemy as sa

from tether.storage.tables.base import ID, metadata, tenant_fk

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column(
        "user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("auth_time", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("idle_expires_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime),
    sa.Column("amr", sa.JSON, nullable=False),
    sa.UniqueConstraint("tenant_id", "token_hash"),
)


refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("family_id", ID, nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column(
        "user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("audience", sa.String(600)),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("auth_time", sa.DateTime),
    sa.Column("session_id", ID),
    sa.Column("used_at", sa.DateTime),
    sa.Column("revoked_at", sa.DateTime),
    sa.Column("replaced_by", ID),
    sa.UniqueConstraint("tenant_id", "token_hash"),
)


login_transactions = sa.Table(
    "login_transactions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE")),
    sa.Column("auth_time", sa.DateTime),
    sa.Column("session_id", ID),
    sa.Column("completed_at", sa.DateTime),
)


authorization_codes = sa.Table(
    "authorization_codes",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("redirect_uri", sa.String(2048), nullable=False),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.Column("audience", sa.String(600)),
    sa.Column("nonce", sa.String(512)),
    sa.Column("code_challenge", sa.String(128)),
    sa.Column("auth_time", sa.DateTime, nullable=False),
    sa.Column("session_id", ID),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
    sa.Column("refresh_family_id", ID),
    sa.UniqueConstraint("tenant_id", "code_hash"),
)


consents = sa.Table(
    "consents",
    metadata,
    tenant_fk(),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.Column("granted_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "user_pk", "client_id"),
)


passwordless_codes = sa.Table(
    "passwordless_codes",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column(
        "connection_id", ID, sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("code_mac", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("used_at", sa.DateTime),
)
sa.Index(
    "ix_passwordless_codes_lookup",
    passwordless_codes.c.tenant_id,
    passwordless_codes.c.connection_id,
    passwordless_codes.c.email,
    passwordless_codes.c.created_at,
)


upstream_flows = sa.Table(
    "upstream_flows",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("tx_id", ID, nullable=False),
    sa.Column(
        "connection_id", ID, sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("nonce", sa.String(64), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
)


# A sign-in the dashboard or the account page started through /authorize: ``id`` is the SHA-256
# of the ``state`` sent (the browser also holds it in a cookie); used once.
account_flows = sa.Table(
    "account_flows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    tenant_fk(),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE")),
    sa.Column("session_id", ID),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("nonce", sa.String(64), nullable=False),
    sa.Column("return_to", sa.String(512), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
)


# "Keep separate" answers to the link prompt at sign-in (domain/sign_in_linking/): the user
# who signed in and the existing user with the same verified email are not offered again.
link_choices = sa.Table(
    "link_choices",
    metadata,
    tenant_fk(),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("other_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("user_pk", "other_pk"),
)


# A cross-origin sign-in (POST /co/authenticate) waiting to be redeemed at /authorize: ``id`` is
# the SHA-256 of the ``login_ticket`` sent, ``verifier_hash`` that of its ``co_verifier``; used once.
login_tickets = sa.Table(
    "login_tickets",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    tenant_fk(),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("realm", sa.String(128), nullable=False),
    sa.Column("origin", sa.String(512), nullable=False),
    sa.Column("co_id", sa.String(64), nullable=False),
    sa.Column("verifier_hash", sa.String(64), nullable=False),
    sa.Column("amr", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
)
