"""Tables. Every row carries ``tenant_id``; constraint names are fixed by the naming convention
so errors can be mapped by name and Alembic's batch mode works on SQLite."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(64)


def _tenant_fk() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


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
    _tenant_fk(),
    sa.Column("kid", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("encrypted_private_key", sa.LargeBinary, nullable=False),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("rotated_at", sa.DateTime),
    sa.UniqueConstraint("tenant_id", "kid"),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("description", sa.String(512), nullable=False, default=""),
    sa.Column("app_type", sa.String(32), nullable=False),
    sa.Column("encrypted_secret", sa.LargeBinary),
    sa.Column("token_endpoint_auth_method", sa.String(32), nullable=False),
    sa.Column("grant_types", sa.JSON, nullable=False),
    sa.Column("callbacks", sa.JSON, nullable=False),
    sa.Column("allowed_logout_urls", sa.JSON, nullable=False),
    sa.Column("web_origins", sa.JSON, nullable=False),
    sa.Column("allowed_origins", sa.JSON, nullable=False),
    sa.Column("is_first_party", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # Auth0's "Allow Cross-Origin Authentication" and "Cross-Origin Verification Fallback URL".
    sa.Column("cross_origin_authentication", sa.Boolean, nullable=False, default=False),
    sa.Column("cross_origin_loc", sa.String(2048)),
    sa.UniqueConstraint("tenant_id", "client_id"),
)

apis = sa.Table(
    "apis",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("identifier", sa.String(600), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("token_lifetime", sa.Integer, nullable=False),
    sa.Column("allow_offline_access", sa.Boolean, nullable=False),
    sa.Column("is_system", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "identifier"),
)

client_grants = sa.Table(
    "client_grants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("audience", sa.String(600), nullable=False),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.UniqueConstraint("tenant_id", "client_id", "audience"),
)

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("strategy", sa.String(64), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("enabled_clients", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "name"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("pk", ID, primary_key=True),
    _tenant_fk(),
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
    _tenant_fk(),
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
    _tenant_fk(),
    sa.Column("connection_id", ID, sa.ForeignKey("connections.id"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("password_hash", sa.String(512), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "connection_id", "email"),
)

retired_user_ids = sa.Table(
    "retired_user_ids",
    metadata,
    _tenant_fk(),
    sa.Column("user_id", sa.String(512), nullable=False),
    sa.Column("retired_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "user_id"),
)
# A retired id's tokens end when it is retired; processes poll these too (domain/access.py).
sa.Index("ix_retired_user_ids_retired_at", retired_user_ids.c.retired_at)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
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

password_tickets = sa.Table(
    "password_tickets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
    sa.Column("ticket_hash", sa.String(64), nullable=False),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "identity_id", ID, sa.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
    sa.UniqueConstraint("tenant_id", "ticket_hash"),
)

log_events = sa.Table(
    "log_events",
    metadata,
    sa.Column("log_id", sa.String(64), primary_key=True),
    _tenant_fk(),
    sa.Column("date", sa.DateTime, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("description", sa.String(1024), nullable=False, default=""),
    sa.Column("client_id", sa.String(64)),
    sa.Column("client_name", sa.String(128)),
    sa.Column("ip", sa.String(64)),
    sa.Column("user_agent", sa.String(512)),
    sa.Column("user_id", sa.String(512)),
    sa.Column("user_name", sa.String(320)),
    sa.Column("connection", sa.String(128)),
    sa.Column("connection_id", ID),
    sa.Column("strategy", sa.String(64)),
    sa.Column("details", sa.JSON, nullable=False),
)
sa.Index("ix_log_events_tenant_date", log_events.c.tenant_id, log_events.c.date)
sa.Index("ix_log_events_tenant_user", log_events.c.tenant_id, log_events.c.user_id)

mail_outbox = sa.Table(
    "mail_outbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(512), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(512)),
)
sa.Index("ix_mail_outbox_pending", mail_outbox.c.sent_at, mail_outbox.c.created_at)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
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

login_transactions = sa.Table(
    "login_transactions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
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
    _tenant_fk(),
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
    _tenant_fk(),
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
    _tenant_fk(),
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
    _tenant_fk(),
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

# Who may use the dashboard (tether admins add EMAIL): a role per (tenant, user).
admins = sa.Table(
    "admins",
    metadata,
    _tenant_fk(),
    sa.Column("user_pk", ID, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "user_pk"),
)

# A sign-in the dashboard or the account page started through /authorize: ``id`` is the SHA-256
# of the ``state`` sent (the browser also holds it in a cookie); used once.
account_flows = sa.Table(
    "account_flows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _tenant_fk(),
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

# Bulk import and export jobs (Auth0's /api/v2/jobs). ``input`` holds an uploaded users file until
# the job ends; ``cursor`` is how many of its rows are done, committed with those rows, so a
# restart resumes where the last transaction ended. ``location_hash`` is the SHA-256 of an
# export's download token (the link itself is never stored).
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("connection_id", ID),
    sa.Column("external_id", sa.String(255)),
    sa.Column("upsert", sa.Boolean, nullable=False, default=False),
    sa.Column("send_completion_email", sa.Boolean, nullable=False, default=False),
    sa.Column("format", sa.String(8)),
    sa.Column("limit", sa.Integer),
    sa.Column("fields", sa.JSON),
    sa.Column("input", sa.LargeBinary),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("cursor", sa.Integer, nullable=False, default=0),
    sa.Column("inserted", sa.Integer, nullable=False, default=0),
    sa.Column("updated", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("status_details", sa.String(1000)),
    sa.Column("location_hash", sa.String(64)),
    sa.Column("location_expires_at", sa.DateTime),
    sa.Column("lease_until", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
sa.Index("ix_jobs_tenant_status", jobs.c.tenant_id, jobs.c.status)
sa.Index("ix_jobs_status", jobs.c.status)

# The rows of an import that failed, as sent (hash values redacted), with Auth0's error codes.
job_errors = sa.Table(
    "job_errors",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("user", sa.JSON, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.PrimaryKeyConstraint("job_id", "position"),
)

# An export's file (gzip), in chunks of at most 1 MiB: every process behind the load balancer
# can serve the download, and neither writing nor reading holds the whole file in memory.
job_files = sa.Table(
    "job_files",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("job_id", "seq"),
)
# Brute-force protection (Auth0's): consecutive failed sign-ins per (connection, identifier, IP).
# ``failures`` is bumped before the credential is checked; when it reaches the tenant's limit the
# IP is blocked for the identifier until ``blocked_until``, an admin, or the mailed link
# (``unblock_hash``, the SHA-256 of a single-use token) lifts it.
login_blocks = sa.Table(
    "login_blocks",
    metadata,
    _tenant_fk(),
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

# Email verification links (domain/verification.py): ``ticket_hash`` is the SHA-256 of the
# single-use ticket mailed or handed out; it verifies ``email`` only while the user still has it.
verification_tickets = sa.Table(
    "verification_tickets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _tenant_fk(),
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

# "Keep separate" answers to the link prompt at sign-in (domain/sign_in_linking.py): the user
# who signed in and the existing user with the same verified email are not offered again.
link_choices = sa.Table(
    "link_choices",
    metadata,
    _tenant_fk(),
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
    _tenant_fk(),
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
