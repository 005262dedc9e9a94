"""The one ``MetaData`` and the column helpers. Every row carries ``tenant_id``; constraint names are fixed by the naming convention
so errors can be mapped by name and Alembic's batch mode works on SQLite."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(64)


def tenant_fk() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
