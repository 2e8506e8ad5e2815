"""Alembic environment: runs migrations on the connection ``cxm`` hands it.

cxm never lets Alembic open its own connection: :func:`cxm.store.migrate.upgrade` passes the
workspace's connection in ``config.attributes["connection"]``, so migrations run inside the
same engine settings (SQLite pragmas, pool) as everything else.
"""

from __future__ import annotations

from alembic import context

from cxm.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError("cxm migrations run through cxm.Workspace.open, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
