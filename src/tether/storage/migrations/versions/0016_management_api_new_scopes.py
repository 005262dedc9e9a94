"""the Management API of tenants made before them defines create:user_tickets and update:client_keys

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:00:00

Scopes added to the Management API after a tenant was made were missing from that tenant's copy
of the API, so no client grant could name them ("scope not defined by the API"). This adds the
definitions; it grants nothing: an administrator adds them to a client grant
(``PATCH /api/v2/client-grants/{id}``) as on Auth0.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ADDED = (
    ("create:user_tickets", "Create email verification tickets"),
    ("update:client_keys", "Rotate application secrets"),
)

apis = sa.table(
    "apis",
    sa.column("id", sa.String),
    sa.column("scopes", sa.JSON),
    sa.column("is_system", sa.Boolean),
)


def _scopes(value: Any) -> list[dict[str, str]]:
    if isinstance(value, str):  # some drivers hand JSON back as text
        value = json.loads(value)
    return list(value or [])


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(apis.c.id, apis.c.scopes).where(apis.c.is_system.is_(True)))
    for api_id, stored in rows.fetchall():
        scopes = _scopes(stored)
        have = {s.get("value") for s in scopes}
        missing = [{"value": v, "description": d} for v, d in ADDED if v not in have]
        if missing:
            bind.execute(apis.update().where(apis.c.id == api_id).values(scopes=scopes + missing))


def downgrade() -> None:
    # Definitions only; a grant naming them keeps working on the older release's checks.
    pass
