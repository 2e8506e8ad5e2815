"""Opening databases: URLs, paths, drivers, pragmas, and passwords kept out of messages."""

from __future__ import annotations

from pathlib import Path

import pytest

import cxm
from cxm.store.engine import create_store_engine, redact_url


def test_default_is_cxm_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with cxm.Workspace.open() as ws:
        assert ws.store.dialect == "sqlite"
    assert (tmp_path / "cxm.db").exists()


def test_a_path_opens_a_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested.db"
    with cxm.Workspace.open(path) as ws, ws.store.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert mode == "wal"
    assert foreign_keys == 1
    assert path.exists()


def test_memory_workspaces_are_independent() -> None:
    first, second = cxm.Workspace.open(":memory:"), cxm.Workspace.open(":memory:")
    first.ingest(
        [cxm.CustomerRecord(source="crm", source_id="1", identities=[("email", "a@b.org")])]
    )
    assert len(first.customers()) == 1
    assert len(second.customers()) == 0


def test_password_never_appears_in_repr_or_errors() -> None:
    secret = "s3cr3t-pa55"  # a made-up password the test must never see echoed
    url = f"postgresql+psycopg://app:{secret}@127.0.0.1:1/nowhere"

    with pytest.raises(cxm.StoreError) as caught:
        cxm.Workspace.open(url)

    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)
    assert "***" in str(caught.value)
    assert redact_url(url) == "postgresql+psycopg://app:***@127.0.0.1:1/nowhere"


def test_repr_of_workspace_hides_the_password(tmp_path: Path) -> None:
    engine_url = f"sqlite:///{tmp_path / 'x.db'}"
    with cxm.Workspace.open(engine_url) as ws:
        assert repr(ws) == f"Workspace(Store('{engine_url}'))"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("oracle://scott:tiger@db/orcl", "unsupported database 'oracle'"),
        ("not a url://", "not a database URL"),
        ("postgresql+nosuchdriver://u@h/d", "no driver"),
    ],
)
def test_bad_urls_are_clear_store_errors(url: str, message: str) -> None:
    with pytest.raises(cxm.StoreError, match=message) as caught:
        create_store_engine(url)
    assert "tiger" not in str(caught.value)


def test_plain_postgresql_and_mysql_urls_pick_the_documented_drivers() -> None:
    pg = create_store_engine("postgresql://u@127.0.0.1/d")
    my = create_store_engine("mysql://u@127.0.0.1/d")
    try:
        assert pg.url.drivername == "postgresql+psycopg"
        assert my.url.drivername == "mysql+pymysql"
        assert my.url.query["charset"] == "utf8mb4"
    finally:
        pg.dispose()
        my.dispose()
