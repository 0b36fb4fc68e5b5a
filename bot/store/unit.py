"""A unit of work: one transaction and the repositories that act in it. Code outside bot/store uses
this and the row classes, never SQLAlchemy itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.store import audit
from bot.store.base import Database
from bot.store.effects import EffectRepo
from bot.store.events import EventRepo


class Unit:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.events = EventRepo(session)
        self.effects = EffectRepo(session)

    def audit(
        self,
        *,
        actor: str,
        door: str,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        audit.record(
            self.session, actor=actor, door=door, action=action, subject=subject, detail=detail, at=at
        )

    def flush(self) -> None:
        self.session.flush()


# /healthz's store probe waits this long for SQLite's write lock before calling the store locked.
PING_LOCK_WAIT_MS = 1000


class Store:
    """The store of one deployment: SQLite by default, PostgreSQL in production."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)

    @contextmanager
    def unit(self, *, read_only: bool = False) -> Iterator[Unit]:
        """One transaction. `read_only` promises no writes: on SQLite it then does not queue behind
        the writers (a write in it would still be correct, waiting on SQLite's own lock)."""
        with self.db.session(read_only=read_only) as session:
            yield Unit(session)

    def ping(self) -> str | None:
        """None when the database answers, else the reason. On SQLite a SELECT succeeds while another
        connection holds the write lock (WAL) and every write waits out the 30 s busy timeout: the
        probe takes the write lock itself, waiting at most PING_LOCK_WAIT_MS, and lets it go."""
        from sqlalchemy import text

        try:
            # On SQLite, queue with Vigie's own writers first (they take turns without sleeping):
            # what is left to wait for is a writer outside Vigie, the lock the probe is about.
            with self.db.writer_turn(PING_LOCK_WAIT_MS / 1000), self.db.engine.connect() as connection:
                if connection.dialect.name != "sqlite":
                    connection.execute(text("SELECT 1"))
                    return None
                previous = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                connection.exec_driver_sql(f"PRAGMA busy_timeout={PING_LOCK_WAIT_MS}")
                try:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    connection.exec_driver_sql("ROLLBACK")
                finally:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={int(previous or 0)}")
            return None
        except Exception as error:  # any driver error means "unavailable" to /healthz
            return f"store: {error.__class__.__name__}: {str(error).splitlines()[0][:200]}"

    def dispose(self) -> None:
        self.db.dispose()
