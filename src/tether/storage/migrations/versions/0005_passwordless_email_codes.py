"""passwordless email codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 23:37:53.288601
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passwordless_codes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("code_mac", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_passwordless_codes_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_passwordless_codes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passwordless_codes")),
    )
    with op.batch_alter_table("passwordless_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_passwordless_codes_lookup",
            ["tenant_id", "connection_id", "email", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("passwordless_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_passwordless_codes_lookup")

    op.drop_table("passwordless_codes")
