"""email verification: verification_tickets

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_tickets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("user_pk", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("result_url", sa.String(length=2048), nullable=True),
        sa.Column("include_email", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_verification_tickets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_verification_tickets_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_tickets")),
        sa.UniqueConstraint(
            "tenant_id", "ticket_hash", name=op.f("uq_verification_tickets_tenant_id_ticket_hash")
        ),
    )
    op.create_index(
        "ix_verification_tickets_user_pk", "verification_tickets", ["user_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_verification_tickets_user_pk", table_name="verification_tickets")
    op.drop_table("verification_tickets")
