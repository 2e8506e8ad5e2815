"""Bringing a database up to the schema this version of cxm expects.

``Workspace.open`` calls :func:`upgrade`: a new database is created from the migrations, an older
one is migrated forward, and one migrated by a newer cxm (a revision this package does not ship)
is refused with :class:`~cxm.exceptions.SchemaVersionError` before anything is written.
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from cxm.exceptions import SchemaVersionError

__all__ = ["current_revision", "head_revision", "upgrade"]


def _config() -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("cxm.store").joinpath("migrations"))
    )
    return config


def head_revision() -> str:
    """Return the newest migration revision this cxm ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("cxm ships no migrations")
    return head


def current_revision(connection: Connection) -> str | None:
    """Return the revision the database is at, or ``None`` for a database cxm never touched."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Migrate the database behind ``engine`` to the newest revision.

    Args:
        engine: The workspace's engine.

    Returns:
        The revision the database is at afterwards.

    Raises:
        SchemaVersionError: If the database is at a revision this cxm does not know.
    """
    config = _config()
    script = ScriptDirectory.from_config(config)
    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection)
    if current == head:
        return head
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaVersionError(current, head)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return head
