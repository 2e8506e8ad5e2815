"""quarantine rows carry a fingerprint, unique, so a bad item read twice lands once

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cxm.store.codec import quarantine_fingerprint

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_quarantine = sa.table(
    "quarantine",
    sa.column("id", sa.BigInteger),
    sa.column("source", sa.String),
    sa.column("stream", sa.String),
    sa.column("reason", sa.Text),
    sa.column("raw", sa.Text),
    sa.column("fingerprint", sa.String),
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    seen: set[str] = set()
    duplicates: list[int] = []
    rows = connection.execute(
        sa.select(
            _quarantine.c.id,
            _quarantine.c.source,
            _quarantine.c.stream,
            _quarantine.c.reason,
            _quarantine.c.raw,
        ).order_by(_quarantine.c.id)
    ).all()
    for row in rows:
        fingerprint = quarantine_fingerprint(row.source, row.stream, row.reason, row.raw)
        if fingerprint in seen:
            # The same item quarantined twice before fingerprints existed: keep the first.
            duplicates.append(row.id)
            continue
        seen.add(fingerprint)
        connection.execute(
            sa.update(_quarantine).where(_quarantine.c.id == row.id).values(fingerprint=fingerprint)
        )
    if duplicates:
        connection.execute(sa.delete(_quarantine).where(_quarantine.c.id.in_(duplicates)))
    with op.batch_alter_table("quarantine") as batch:
        batch.alter_column("fingerprint", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint("uq_quarantine_fingerprint", ["fingerprint"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_constraint("uq_quarantine_fingerprint", type_="unique")
        batch.drop_column("fingerprint")
