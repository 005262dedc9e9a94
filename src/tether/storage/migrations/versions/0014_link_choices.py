"""linking at sign-in: link_choices ("keep separate" answers)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_choices",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_pk", sa.String(length=64), nullable=False),
        sa.Column("other_pk", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_link_choices_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_link_choices_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_pk"],
            ["users.pk"],
            name=op.f("fk_link_choices_other_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", "other_pk", name=op.f("pk_link_choices")),
    )


def downgrade() -> None:
    op.drop_table("link_choices")
