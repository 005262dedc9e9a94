"""users.tokens_valid_after: the instant before which a user's tokens are refused

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("tokens_valid_after", sa.DateTime(), nullable=True))
    op.create_index("ix_users_tokens_valid_after", "users", ["tokens_valid_after"])
    op.create_index("ix_retired_user_ids_retired_at", "retired_user_ids", ["retired_at"])


def downgrade() -> None:
    op.drop_index("ix_retired_user_ids_retired_at", table_name="retired_user_ids")
    op.drop_index("ix_users_tokens_valid_after", table_name="users")
    # Not batch mode: on SQLite it would copy the table and lose its expression index
    # (ix_users_tenant_email_lower); SQLite >= 3.35 and PostgreSQL both drop a column in place.
    op.execute("ALTER TABLE users DROP COLUMN tokens_valid_after")
