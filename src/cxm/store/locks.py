"""Sync locks: one sync per connector instance per database at a time.

The lock must vanish with the process that holds it, so that a sync killed half-way can be
re-run at once without anyone clearing a stale flag. Every backend offers such a lock:
PostgreSQL session advisory locks and MySQL/MariaDB ``GET_LOCK`` are released when their
connection closes, and on SQLite a POSIX byte-range lock on a file beside the database is
released by the kernel when the process exits. POSIX locks belong to the process, so for
SQLite a process-wide set keyed by the database's real path also keeps two syncs in one process
apart, and one shared descriptor per lock file keeps one sync's exit from dropping another's
lock.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine

from cxm.exceptions import SyncInProgressError

fcntl: Any
try:  # POSIX only; elsewhere SQLite syncs are locked within the process alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["sync_lock"]

_guard = threading.Lock()
# Held in this process: (database, key). PostgreSQL and MySQL sessions already exclude each
# other within one process; SQLite's POSIX locks do not, so this set does it for them.
_held: set[tuple[str, str]] = set()
# One descriptor per lock file per process, shared by every lock on it: closing any descriptor
# of a file drops all of the process's POSIX locks on that file, so none may close early.
_files: dict[str, list[int]] = {}  # path -> [descriptor, users]
# A lock file holds 2**31 one-byte ranges; a key's byte is its hash, so keys share one file.
_RANGE = 1 << 31


def _key_hash(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def sync_lock(engine: Engine, key: str) -> Iterator[None]:
    """Hold the sync lock of ``key`` on the database behind ``engine``.

    Args:
        engine: The store's engine.
        key: The connector instance's state key.

    Raises:
        SyncInProgressError: At once, if another sync (in this process or another) holds it.
    """
    backend = engine.url.get_backend_name()
    with ExitStack() as stack:
        if backend == "postgresql":
            stack.enter_context(_advisory_lock(engine, key))
        elif backend in ("mysql", "mariadb"):
            stack.enter_context(_named_lock(engine, key))
        else:
            name = engine.url.database
            if name in (None, "", ":memory:"):
                # An in-memory database lives in this process only: the engine is its identity.
                stack.enter_context(_in_process(f"memory:{id(engine)}", key))
            else:
                path = os.path.realpath(str(name))
                stack.enter_context(_in_process(path, key))
                stack.enter_context(_file_lock(path, key))
        yield


@contextmanager
def _in_process(database: str, key: str) -> Iterator[None]:
    with _guard:
        if (database, key) in _held:
            raise SyncInProgressError(key)
        _held.add((database, key))
    try:
        yield
    finally:
        with _guard:
            _held.discard((database, key))


@contextmanager
def _session(engine: Engine) -> Iterator[Connection]:
    # Autocommit: the lock is held by the session, and no transaction stays open for the
    # length of the sync.
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def _advisory_lock(engine: Engine, key: str) -> Iterator[None]:
    # Advisory locks are scoped to the current database, so the key alone is enough.
    number = _key_hash("cxm-sync", key)
    with _session(engine) as connection:
        got = connection.exec_driver_sql(
            "SELECT pg_try_advisory_lock(%(key)s)", {"key": number}
        ).scalar()
        if not got:
            raise SyncInProgressError(key)
        try:
            yield
        finally:
            try:
                connection.exec_driver_sql("SELECT pg_advisory_unlock(%(key)s)", {"key": number})
            except Exception:
                # Closing the session releases the lock too; make sure it is not pooled.
                connection.invalidate()


@contextmanager
def _named_lock(engine: Engine, key: str) -> Iterator[None]:
    with _session(engine) as connection:
        # Named locks are server-wide: the database's name goes into the lock's name.
        database = connection.exec_driver_sql("SELECT DATABASE()").scalar() or ""
        name = f"cxm-sync-{_key_hash(str(database), key) & ((1 << 64) - 1):016x}"
        got = connection.exec_driver_sql("SELECT GET_LOCK(%s, 0)", (name,)).scalar()
        if got != 1:
            raise SyncInProgressError(key)
        try:
            yield
        finally:
            try:
                connection.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
            except Exception:
                connection.invalidate()


@contextmanager
def _file_lock(database: str, key: str) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = database + ".sync-lock"
    offset = _key_hash(key) % _RANGE
    with _guard:
        entry = _files.get(path)
        if entry is None:
            entry = _files[path] = [os.open(path, os.O_RDWR | os.O_CREAT, 0o644), 0]
        entry[1] += 1
        descriptor = entry[0]
    try:
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
        except OSError:
            raise SyncInProgressError(key) from None
        try:
            yield
        finally:
            fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)
    finally:
        with _guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _files[path]
                os.close(descriptor)
