"""identities remember whether they were linked while the email was unverified

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 04:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("linked_unverified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Identities linked before this column existed: a secondary of a user whose email is still
    # unverified was linked while it was unverified, so the owner's proof detaches it too.
    identities = sa.table(
        "identities",
        sa.column("user_pk", sa.String),
        sa.column("is_primary", sa.Boolean),
        sa.column("linked_unverified", sa.Boolean),
    )
    users = sa.table("users", sa.column("pk", sa.String), sa.column("email_verified", sa.Boolean))
    op.execute(
        identities.update()
        .where(
            identities.c.is_primary.is_(False),
            identities.c.user_pk.in_(
                sa.select(users.c.pk).where(users.c.email_verified.is_(False))
            ),
        )
        .values(linked_unverified=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("linked_unverified")
