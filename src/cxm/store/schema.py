"""The tables, in SQLAlchemy Core, portable across SQLite, PostgreSQL and MySQL/MariaDB.

Times are stored as integer microseconds since the Unix epoch in UTC (columns ending ``_us``):
exact, sortable, the same on every dialect (MySQL has no time-zone-aware type) and converted to
``datetime64[us, UTC]`` by pandas in one vectorised step. Money is stored exactly as an integer
number of millionths (``value_micros``). JSON documents (identities, attributes, traits, cursors,
raw payloads) are stored as text written by cxm, so every dialect reads them back the same.
The Alembic migrations in ``cxm/store/migrations`` create exactly these tables; a test checks the
two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

__all__ = [
    "customer_records",
    "customers",
    "feedback",
    "identities",
    "interactions",
    "merges",
    "metadata",
    "quarantine",
    "sentiment",
    "settings",
    "sync_state",
    "touchpoints",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (and so auto-incrementing).
AutoId = BigInteger().with_variant(Integer(), "sqlite")
# MySQL's TEXT stops at 64 KiB; ticket threads and raw payloads can be longer.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

CUSTOMER_ID = 32
SOURCE = 64
SOURCE_ID = 255
KIND = 64
IDENTITY_VALUE = 320

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
    comment="Workspace-wide settings: the id salt, creation time.",
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(CUSTOMER_ID), primary_key=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("traits", LongText, nullable=False, default="{}"),
    comment="One row per resolved customer; traits merged from its records.",
)

identities = Table(
    "identities",
    metadata,
    Column("kind", String(KIND), nullable=False),
    Column("value", String(IDENTITY_VALUE), nullable=False),
    Column("customer_id", String(CUSTOMER_ID), nullable=False),
    Column("source", String(SOURCE), nullable=False),
    Column("first_seen_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "value"),
    Index(None, "customer_id"),
    comment="Every normalised identity and the customer it resolves to.",
)

customer_records = Table(
    "customer_records",
    metadata,
    Column("source", String(SOURCE), nullable=False),
    Column("source_id", String(SOURCE_ID), nullable=False),
    Column("customer_id", String(CUSTOMER_ID), nullable=False),
    Column("identities", LongText, nullable=False),
    Column("traits", LongText, nullable=False),
    Column("updated_us", BigInteger, nullable=True),
    Column("ingested_us", BigInteger, nullable=False),
    Column("content_hash", String(32), nullable=False),
    PrimaryKeyConstraint("source", "source_id"),
    Index(None, "customer_id"),
    comment="What each source contributed about a customer.",
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("source", String(SOURCE), nullable=False),
    Column("source_id", String(SOURCE_ID), nullable=False),
    Column("customer_id", String(CUSTOMER_ID), nullable=True),
    Column("occurred_us", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("touchpoint", String(255), nullable=True),
    Column("kind", String(KIND), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("text", LongText, nullable=True),
    Column("value_micros", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("identities", LongText, nullable=False),
    Column("attributes", LongText, nullable=False),
    Column("updated_us", BigInteger, nullable=True),
    Column("ingested_us", BigInteger, nullable=False),
    Column("content_hash", String(32), nullable=False),
    UniqueConstraint("source", "source_id"),
    Index(None, "customer_id", "occurred_us"),
    Index(None, "occurred_us"),
    Index(None, "touchpoint"),
    comment="Every interaction; (source, source_id) is the idempotency key.",
)

feedback = Table(
    "feedback",
    metadata,
    Column(
        "interaction_id",
        BigInteger,
        ForeignKey("interactions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ordinal", SmallInteger, nullable=False),
    Column("metric", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("scale_min", Float, nullable=False),
    Column("scale_max", Float, nullable=False),
    Column("question", Text, nullable=True),
    Column("comment", LongText, nullable=True),
    PrimaryKeyConstraint("interaction_id", "ordinal"),
    Index(None, "metric"),
    comment="Scores given in an interaction; ordinal is the position in Interaction.feedback.",
)

touchpoints = Table(
    "touchpoints",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("stage", String(64), nullable=True),
    comment="The touchpoint catalog; unknown touchpoints are added on first sight.",
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("connector", String(128), nullable=False),
    Column("stream", String(128), nullable=False),
    Column("cursor", LongText, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("connector", "stream"),
    comment="Where each connector instance's stream left off, committed with its batch.",
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("source", String(SOURCE), nullable=False),
    Column("stream", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", LongText, nullable=False),
    Column("seen_us", BigInteger, nullable=False),
    # Hash of source, stream, reason and raw payload: a bad item read again (a re-run, a sync
    # resumed after a crash) finds its row instead of adding a second one.
    Column("fingerprint", String(32), nullable=False),
    Index(None, "source", "stream"),
    UniqueConstraint("fingerprint"),
    comment="Records that failed validation, with the reason and the raw payload.",
)

merges = Table(
    "merges",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("merged_us", BigInteger, nullable=False),
    Column("survivor_id", String(CUSTOMER_ID), nullable=False),
    Column("merged_id", String(CUSTOMER_ID), nullable=False),
    Column("source", String(SOURCE), nullable=True),
    Column("source_id", String(SOURCE_ID), nullable=True),
    Index(None, "survivor_id"),
    Index(None, "merged_id"),
    comment="Audit of customer merges: who absorbed whom, and the record that linked them.",
)

sentiment = Table(
    "sentiment",
    metadata,
    Column(
        "interaction_id",
        BigInteger,
        ForeignKey("interactions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("analyzer", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    # blake2b-128 of the text that was scored: a changed text no longer matches and is rescored.
    Column("text_hash", String(32), nullable=False),
    Column("compound", Double, nullable=False),
    Column("pos", Double, nullable=True),
    Column("neu", Double, nullable=True),
    Column("neg", Double, nullable=True),
    Column("label", String(8), nullable=False),
    Column("scored_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("interaction_id", "analyzer"),
    Index(None, "analyzer"),
    comment="Sentiment of each interaction's text, one row per analyzer (an enrichment).",
)
