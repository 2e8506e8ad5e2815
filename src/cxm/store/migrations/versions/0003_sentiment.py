"""sentiment: scores of interaction text, one row per interaction and analyzer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "sentiment",
        sa.Column("interaction_id", sa.BigInteger(), nullable=False),
        sa.Column("analyzer", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("compound", sa.Double(), nullable=False),
        sa.Column("pos", sa.Double(), nullable=True),
        sa.Column("neu", sa.Double(), nullable=True),
        sa.Column("neg", sa.Double(), nullable=True),
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.Column("scored_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_sentiment_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("interaction_id", "analyzer", name=op.f("pk_sentiment")),
        comment="Sentiment of each interaction's text, one row per analyzer (an enrichment).",
    )
    with op.batch_alter_table("sentiment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sentiment_analyzer"), ["analyzer"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("sentiment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sentiment_analyzer"))
    op.drop_table("sentiment")
