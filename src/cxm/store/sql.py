"""Hot-path SQL: statements compiled once per dialect and run with plain tuples.

SQLAlchemy Core builds every statement (so the native conflict clauses stay the dialect's own),
but the batch writer runs them through ``exec_driver_sql`` with positional tuples: per-row
parameter processing in the ORM-free Core path still costs several microseconds a row, more than
the database's own insert. ``IN (...)`` lookups are written with one placeholder per value and
their text cached by length, because compiling an expanding ``IN`` for every chunk costs more
than running it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, column, select
from sqlalchemy import table as table_clause
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

__all__ = ["CompiledStatements", "native_insert_ignore", "native_upsert"]


def native_upsert(dialect: str, table: Table, key: Sequence[str]) -> Any:
    """Return an INSERT that updates every non-key column of a conflicting row.

    ``INSERT ... ON CONFLICT (key) DO UPDATE`` on SQLite and PostgreSQL,
    ``INSERT ... ON DUPLICATE KEY UPDATE`` on MySQL and MariaDB.
    """
    columns = [c.name for c in table.columns if c.name not in key and not c.primary_key]
    if dialect in ("sqlite", "postgresql"):
        module: Any = sqlite_dialect if dialect == "sqlite" else pg_dialect
        stmt = module.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )
    stmt = mysql_dialect.insert(table)
    return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in columns})


def native_insert_ignore(dialect: str, table: Table, key: Sequence[str]) -> Any:
    """Return an INSERT that leaves a conflicting row as it is."""
    if dialect in ("sqlite", "postgresql"):
        module: Any = sqlite_dialect if dialect == "sqlite" else pg_dialect
        return module.insert(table).on_conflict_do_nothing(index_elements=list(key))
    stmt = mysql_dialect.insert(table)
    return stmt.on_duplicate_key_update({key[0]: stmt.inserted[key[0]]})


def _reorder(
    rows: Sequence[tuple[Any, ...]], have: Sequence[str], want: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Reorder row tuples from column order ``have`` to ``want``."""
    if tuple(have) == tuple(want):
        return list(rows)
    positions = [list(have).index(name) for name in want]
    return [tuple(row[i] for i in positions) for row in rows]


class CompiledStatements:
    """A per-dialect cache of positional SQL.

    Args:
        dialect: The engine's dialect.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect_name = str(dialect.name)
        self.mark = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
        paramstyle = "qmark" if self.mark == "?" else "format"
        dialect_class: Any = type(dialect)
        self._dialect = dialect_class(paramstyle=paramstyle)
        if getattr(dialect, "is_mariadb", False):
            self._dialect.is_mariadb = True
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._placeholders: dict[int, str] = {}

    def compiled(self, key: str, build: Callable[[], ClauseElement]) -> tuple[str, tuple[str, ...]]:
        """Return ``(sql, parameter names in order)`` for the statement ``build`` makes.

        Args:
            key: Cache key naming the statement.
            build: Makes the SQLAlchemy statement (called once per key).
        """
        hit = self._compiled.get(key)
        if hit is None:
            compiled = build().compile(dialect=self._dialect)
            hit = (compiled.string, tuple(getattr(compiled, "positiontup", None) or ()))
            self._compiled[key] = hit
        return hit

    @staticmethod
    def run_many(connection: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run ``sql`` once per row on the DBAPI cursor of ``connection``'s transaction."""
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def upsert(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Insert ``rows`` (tuples in ``columns`` order), updating rows whose ``key`` exists.

        On PostgreSQL the rows are staged with ``COPY`` into a temporary table and upserted
        with one ``INSERT ... SELECT ... ON CONFLICT``: an order of magnitude fewer round trips
        than ``executemany``. Elsewhere the native upsert runs once per row with
        ``executemany``.
        """
        if not rows:
            return
        if self.dialect_name == "postgresql":
            self._staged_upsert(connection, table, columns, key, rows)
            return
        sql, names = self.compiled(
            f"{table.name}.upsert",
            lambda: native_upsert(self.dialect_name, table, key).values(
                {c: bindparam(c) for c in columns}
            ),
        )
        self.run_many(connection, sql, _reorder(rows, columns, names))

    def insert(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Insert ``rows`` (tuples in ``columns`` order); a key conflict raises."""
        if not rows:
            return
        if self.dialect_name == "postgresql":
            self._copy(connection, table.name, columns, rows)
            return
        from sqlalchemy import insert as sa_insert

        sql, names = self.compiled(
            f"{table.name}.insert:{','.join(columns)}",
            lambda: sa_insert(table).values({c: bindparam(c) for c in columns}),
        )
        self.run_many(connection, sql, _reorder(rows, columns, names))

    @staticmethod
    def _copy(
        connection: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        cursor = connection.connection.cursor()
        try:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def _staged_upsert(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        stage = f"cxm_stage_{table.name}"
        column_list = ", ".join(columns)
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {column_list} FROM {table.name} WITH NO DATA"
        )
        self._copy(connection, stage, columns, rows)
        sql, _names = self.compiled(
            f"{table.name}.staged_upsert",
            lambda: native_upsert(self.dialect_name, table, key).from_select(
                list(columns),
                select(*(column(c) for c in columns)).select_from(table_clause(stage)),
            ),
        )
        connection.exec_driver_sql(sql)
        connection.exec_driver_sql(f"DELETE FROM {stage}")

    def placeholders(self, count: int) -> str:
        """Return ``"(?, ?, ...)"`` with ``count`` placeholders in this dialect's style."""
        text = self._placeholders.get(count)
        if text is None:
            text = "(" + ", ".join([self.mark] * count) + ")"
            self._placeholders[count] = text
        return text

    def select_in(
        self,
        connection: Connection,
        head: str,
        fixed: tuple[Any, ...],
        values: Sequence[Any],
    ) -> list[tuple[Any, ...]]:
        """Run ``head + " IN (...)"`` for ``values``; ``head`` uses ``{m}`` for placeholders.

        Args:
            connection: An open connection.
            head: SQL up to the ``IN``, e.g.
                ``"SELECT id FROM interactions WHERE source = {m} AND source_id"``.
            fixed: Parameters of ``head``, in order.
            values: The ``IN`` list.

        Returns:
            The rows, as tuples.
        """
        if not values:
            return []
        if self.dialect_name == "postgresql":
            # One array parameter: psycopg parses a 2,000-placeholder query slower than the
            # server runs it.
            sql = head.format(m=self.mark) + " = ANY(%s)"
            parameters: tuple[Any, ...] = (*fixed, list(values))
        else:
            sql = head.format(m=self.mark) + " IN " + self.placeholders(len(values))
            parameters = (*fixed, *values)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, parameters)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()
