"""Opening a database: URLs, dialect settings and the SQLite pragmas that make it a good store.

SQLite files run in WAL mode (readers never block the writer), with ``synchronous=NORMAL``
(durable at every checkpoint, safe against application crashes), foreign keys on and a busy
timeout. pysqlite's own transaction handling is switched off so that SQLAlchemy's ``begin()``
emits a real ``BEGIN`` — ``BEGIN IMMEDIATE`` for writes, so two writers queue on the lock instead
of failing half-way through a batch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from cxm.exceptions import StoreError

__all__ = ["DEFAULT_URL", "SUPPORTED_DIALECTS", "create_store_engine", "redact_url"]

DEFAULT_URL = "sqlite:///cxm.db"
SUPPORTED_DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb")
WRITE_OPTION = "cxm_write"
_BUSY_TIMEOUT_MS = 30_000
_CACHE_KIB = 32_768
_DRIVER_HINT = {
    "postgresql": "pip install 'cxm[postgres]'",
    "mysql": "pip install 'cxm[mysql]'",
    "mariadb": "pip install 'cxm[mysql]'",
}


def redact_url(url: str | URL) -> str:
    """Return ``url`` as text with any password replaced by ``***``.

    Examples:
        >>> redact_url("postgresql+psycopg://app:s3cret@db.example.com/cx")
        'postgresql+psycopg://app:***@db.example.com/cx'
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def _to_url(target: str | os.PathLike[str] | URL | None) -> URL:
    if target is None:
        return make_url(DEFAULT_URL)
    if isinstance(target, URL):
        return target
    if isinstance(target, os.PathLike) or "://" not in target:
        path = os.fspath(target)
        if path == ":memory:":
            return make_url("sqlite://")
        return make_url(f"sqlite:///{Path(path).expanduser()}")
    try:
        return make_url(target)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {redact_url(target)}") from exc


def create_store_engine(
    target: str | os.PathLike[str] | URL | None = None, **kwargs: Any
) -> Engine:
    """Create an engine for a cxm store.

    Args:
        target: An SQLAlchemy URL (``"postgresql+psycopg://..."``, ``"mysql+pymysql://..."``), a
            path to a SQLite file, ``":memory:"``, or ``None`` for ``./cxm.db``.
        **kwargs: Passed to :func:`sqlalchemy.create_engine`.

    Returns:
        The engine, configured for the dialect.

    Raises:
        StoreError: If the URL is malformed, the dialect unsupported or its driver missing.
    """
    url = _to_url(target)
    backend = url.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise StoreError(
            f"unsupported database {backend!r} in {redact_url(url)}; cxm supports "
            + ", ".join(SUPPORTED_DIALECTS)
        )
    if backend == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if backend in ("mysql", "mariadb") and "+" not in url.drivername:
        url = url.set(drivername=f"{backend}+pymysql")
    if backend in ("mysql", "mariadb"):
        url = url.update_query_dict({"charset": "utf8mb4"})
    options: dict[str, Any] = {}
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        options["poolclass"] = StaticPool
        options["connect_args"] = {"check_same_thread": False}
    if backend != "sqlite":
        options["pool_pre_ping"] = True
    options.update(kwargs)
    try:
        engine = create_engine(url, **options)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = _DRIVER_HINT.get(backend, "install its driver")
        raise StoreError(
            f"no driver for {redact_url(url)}: {exc}. Install it with: {hint}"
        ) from exc
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin() emit BEGIN itself (pysqlite's implicit transactions begin
        # late and never for SELECT, which breaks the isolation a batch needs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # A 32 MiB page cache keeps the hot index pages of a million-interaction store in
            # memory during batch upserts; SQLite's 2 MiB default thrashes. 64 MiB was no
            # faster within noise and took a CSV sync's peak RSS past 300 MB.
            cursor.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
