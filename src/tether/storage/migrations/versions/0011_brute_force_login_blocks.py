"""brute-force protection: login_blocks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_blocks",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("connection", sa.String(length=128), nullable=False),
        sa.Column("identifier", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("blocked_at", sa.DateTime(), nullable=True),
        sa.Column("unblock_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_login_blocks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "connection", "identifier", "ip", name=op.f("pk_login_blocks")
        ),
    )
    op.create_index(
        "ix_login_blocks_identifier", "login_blocks", ["tenant_id", "identifier"], unique=False
    )
    op.create_index("ix_login_blocks_unblock_hash", "login_blocks", ["unblock_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_login_blocks_unblock_hash", table_name="login_blocks")
    op.drop_index("ix_login_blocks_identifier", table_name="login_blocks")
    op.drop_table("login_blocks")
