"""SQLAlchemy foundations shared by every table: the declarative base, portable column types, and
engine/session construction for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from bot.store.writer_lock import WriterLock, lock_path_for

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets the HTTP server read while workers write; busy_timeout waits instead of failing.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            # SQLite's default page cache is 2 MiB per connection: once the tables outgrow it (a few
            # minutes at 150 ev/s) every insert into their random-keyed indexes goes to the OS for
            # pages. 64 MiB of cache and memory-mapped reads keep the hot pages close.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # No server-side prepared statements (psycopg prepares a query after 5 runs): PostgreSQL may
    # then keep a generic plan made while the tables were small, sequential scans included, for the
    # connection's life. Measured here (autovacuum off, so no ANALYZE to invalidate it): a 300 ev/s
    # soak fell from 263 to 77 processed/s within 3 minutes, events and verdicts read by seq scan.
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"prepare_threshold": None}
    )


class Database:
    """An engine and its session factory. `with db.session() as s:` commits on success."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        lock_path = lock_path_for(url) if url.startswith("sqlite") else None
        self._writer = WriterLock(lock_path) if lock_path is not None else None

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A transaction. On SQLite it first takes the writer lock, unless `read_only` (WAL readers
        never wait for the writer); PostgreSQL has row locks and many writers at once."""
        if self._writer is None or read_only:
            with self._sessions.begin() as session:
                yield session
            return
        with self._writer.held(), self._sessions.begin() as session:
            yield session

    @contextmanager
    def writer_turn(self, timeout: float) -> Iterator[None]:
        """Vigie's own writers' turn on SQLite (see writer_lock); nothing on PostgreSQL."""
        if self._writer is None:
            yield
            return
        with self._writer.held(timeout):
            yield

    def dispose(self) -> None:
        self.engine.dispose()
