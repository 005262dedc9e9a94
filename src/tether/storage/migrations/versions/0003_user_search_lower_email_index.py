"""user search: lower(email) index

Exact email search (``q=email:"..."``) and ``GET /users-by-email`` compare ``lower(email)``
within a tenant; this expression index serves both on SQLite and PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 23:15:26.877424
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_users_tenant_email_lower",
        "users",
        ["tenant_id", sa.literal_column("lower(email)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_users_tenant_email_lower", table_name="users")
