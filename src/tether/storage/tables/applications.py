"""Applications, APIs (resource servers), client grants and connections."""

from __future__ import annotations

import sqlalchemy as sa

from tether.storage.tables.base import ID, metadata, tenant_fk

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
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
    tenant_fk(),
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
    tenant_fk(),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("audience", sa.String(600), nullable=False),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.UniqueConstraint("tenant_id", "client_id", "audience"),
)


connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("strategy", sa.String(64), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("enabled_clients", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "name"),
)
