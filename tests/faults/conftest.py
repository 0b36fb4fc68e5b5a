"""Fixtures of the fault tests. Each test gets its own database (SQLite file; and, when
VIGIE_TEST_DATABASE_URL is set, a PostgreSQL database of its own created on that server, so no other
test or engineer sharing the server is disturbed) and its own redis-server, which the test may kill."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import RedisServer


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get("VIGIE_TEST_DATABASE_URL") else ["sqlite"]


def _admin_engine(server_url: str) -> object:
    from sqlalchemy import create_engine

    url = server_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database on VIGIE_TEST_DATABASE_URL's server, dropped afterwards."""
    from sqlalchemy import Engine, text
    from sqlalchemy.engine import make_url

    from bot.store.base import make_engine
    from bot.store.migrate import upgrade

    server_url = os.environ.get("VIGIE_TEST_DATABASE_URL")
    if not server_url:
        pytest.skip("VIGIE_TEST_DATABASE_URL is not set")
    name = f"vigie_faults_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(server_url)
    assert isinstance(admin, Engine)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite always; PostgreSQL too when VIGIE_TEST_DATABASE_URL is set (a database of its own)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    from bot.store.base import make_engine
    from bot.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from bot.store.base import make_engine
    from bot.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, persistence as in docker-compose.yml (append-only file)."""
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
