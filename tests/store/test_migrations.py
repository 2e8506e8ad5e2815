"""Migrations: a new database is built by them, matches the tables, and a newer one is refused."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import cxm
from cxm.store import schema
from cxm.store.migrate import head_revision
from tests.support import at, email


def test_new_database_is_at_head_with_every_table(db_url: str) -> None:
    ws = cxm.Workspace.open(db_url)
    try:
        assert ws.store.revision == head_revision()
        tables = set(inspect(ws.store.engine).get_table_names())
        assert {t.name for t in schema.metadata.sorted_tables} <= tables
        assert "alembic_version" in tables
    finally:
        ws.close()


def test_migrations_build_exactly_the_declared_schema(db_url: str) -> None:
    ws = cxm.Workspace.open(db_url)
    try:
        with ws.store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, schema.metadata)
        # Table comments are not reflected on every dialect; nothing else may differ.
        assert [d for d in differences if "comment" not in str(d[0])] == []
    finally:
        ws.close()


def test_reopening_keeps_data_and_does_not_migrate_again(db_url: str) -> None:
    ws = cxm.Workspace.open(db_url)
    ws.ingest(
        [cxm.CustomerRecord(source="crm", source_id="1", identities=[email("a@example.com")])]
    )
    customer_id = ws.customer("a@example.com").customer_id
    ws.close()

    again = cxm.Workspace.open(db_url)
    try:
        assert again.customer("a@example.com").customer_id == customer_id
        # The salt persisted: the same identity on a new customer would get the same id.
        assert again.store.salt == ws.store.salt
    finally:
        again.close()


def test_database_from_a_newer_cxm_is_refused(db_url: str) -> None:
    cxm.Workspace.open(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()

    with pytest.raises(cxm.SchemaVersionError) as caught:
        cxm.Workspace.open(db_url)

    assert caught.value.database_revision == "9999_future"
    assert caught.value.library_head == head_revision()
    assert "newer cxm" in str(caught.value)
    assert isinstance(caught.value, cxm.StoreError)
    # Nothing was written: the stamp is still the future one.
    engine = create_engine(db_url)
    with engine.connect() as connection:
        stamp = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert stamp == "9999_future"


def test_workspace_is_a_context_manager(db_url: str) -> None:
    with cxm.Workspace.open(db_url) as ws:
        ws.ingest(
            [
                cxm.Interaction(
                    source="web", source_id="1", occurred_at=at(0), channel="web", kind="page_view"
                )
            ]
        )
        assert len(ws.interactions()) == 1
    assert ws.store.engine.pool.checkedout() == 0


def test_0002_fingerprints_old_quarantine_rows_and_folds_duplicates(db_url: str) -> None:
    from alembic import command

    from cxm.store.codec import quarantine_fingerprint
    from cxm.store.migrate import _config

    engine = create_engine(db_url)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    rows = [
        ("csv", "rows", "line 3: bad date", '{"line": 3}'),
        ("csv", "rows", "line 3: bad date", '{"line": 3}'),  # read twice before 0002
        ("csv", "rows", "line 4: bad date", '{"line": 4}'),
    ]
    with engine.begin() as connection:
        for source, stream, reason, raw in rows:
            connection.execute(
                text(
                    "INSERT INTO quarantine (source, stream, reason, raw, seen_us) "
                    "VALUES (:source, :stream, :reason, :raw, 1)"
                ),
                {"source": source, "stream": stream, "reason": reason, "raw": raw},
            )
    engine.dispose()

    with cxm.Workspace.open(db_url) as ws:
        assert ws.store.revision == head_revision()
        with ws.store.read() as connection:
            stored = connection.execute(
                text("SELECT reason, raw, fingerprint FROM quarantine ORDER BY id")
            ).all()
        assert [(r.reason, r.raw) for r in stored] == [
            ("line 3: bad date", '{"line": 3}'),
            ("line 4: bad date", '{"line": 4}'),
        ]
        assert [r.fingerprint for r in stored] == [
            quarantine_fingerprint("csv", "rows", r.reason, r.raw) for r in stored
        ]
        # New items with the same fingerprint find the old rows.
        report = ws.ingest([{"source": "crm", "record_type": "nope"}] * 2)
        assert report.rejected == 2
        assert len(ws.quarantined()) == 3
