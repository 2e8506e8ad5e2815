"""Shared fixtures: a fresh workspace on every database the machine offers.

Store tests take the ``db_url`` (or ``workspace``) fixture and run once per backend: SQLite
always; PostgreSQL when ``CXM_TEST_POSTGRES_URL`` is set and MySQL/MariaDB when
``CXM_TEST_MYSQL_URL`` is set (both point at a server where the user may create databases, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each test gets a scratch database of its
own, dropped afterwards; without the variables those parameters skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

import cxm

BACKENDS = ("sqlite", "postgresql", "mysql")
ENV = {"postgresql": "CXM_TEST_POSTGRES_URL", "mysql": "CXM_TEST_MYSQL_URL"}


@pytest.fixture(autouse=True)
def _no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep plugins installed on the developer's machine out of the test run."""
    monkeypatch.setenv("CXM_LOAD_PLUGINS", "")


def _scratch_database(server_url: str) -> Iterator[str]:
    url = make_url(server_url)
    name = f"cxm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    backend = url.get_backend_name()
    try:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                connection.exec_driver_sql(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty scratch database, once per backend."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'cxm.db'}"
        return
    server = os.environ.get(ENV[backend])
    if not server:
        pytest.skip(f"{ENV[backend]} is not set; set it to a {backend} server URL to run")
    yield from _scratch_database(server)


@pytest.fixture
def workspace(db_url: str) -> Iterator[cxm.Workspace]:
    """A fresh workspace on each backend."""
    ws = cxm.Workspace.open(db_url)
    try:
        yield ws
    finally:
        ws.close()
