"""configuration read model: tenants.config_version

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Bumped in the transaction of every change to a tenant's configuration (storage/uow.py);
    # each process polls it to know when its in-memory copy is stale (domain/configuration.py).
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("config_version", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("config_version")
