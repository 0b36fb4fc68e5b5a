"""Repository of crisis incidents and their timelines. It takes a `Unit` (one transaction) and
returns row objects; the crisis service never sees SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.store.models import IncidentEntryRow, IncidentRow, PostedMessage
from bot.store.unit import Unit

LIVE = ("open", "acknowledged")


class IncidentRepo:
    def __init__(self, unit: Unit) -> None:
        self.session = unit.session

    def get(self, incident_id: str, *, lock: bool = False) -> IncidentRow | None:
        """`lock` takes a row lock (PostgreSQL) so a staff action and a scheduled step serialise."""
        query = select(IncidentRow).where(IncidentRow.id == incident_id)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def add(self, row: IncidentRow) -> IncidentRow:
        self.session.add(row)
        self.session.flush()
        return row

    def live(self, scopes: Iterable[str] | None = None) -> list[IncidentRow]:
        """Incidents not resolved yet, optionally of some scopes, oldest first."""
        query = select(IncidentRow).where(IncidentRow.status.in_(LIVE))
        if scopes is not None:
            query = query.where(IncidentRow.scope.in_(list(scopes)))
        return list(self.session.scalars(query.order_by(IncidentRow.opened_at, IncidentRow.id)))

    def latest_live(self) -> IncidentRow | None:
        query = (
            select(IncidentRow)
            .where(IncidentRow.status.in_(LIVE))
            .order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def recent(self, *, statuses: Sequence[str] = (), limit: int = 50) -> list[IncidentRow]:
        query = select(IncidentRow)
        if statuses:
            query = query.where(IncidentRow.status.in_(statuses))
        query = query.order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc()).limit(limit)
        return list(self.session.scalars(query))

    def add_entries(self, incident_id: str, entries: Sequence[dict[str, Any]]) -> int:
        """Add timeline entries (dicts of `IncidentEntryRow` columns, `key` included) that are not
        there yet; returns how many were new."""
        if not entries:
            return 0
        rows = [{**entry, "incident_id": incident_id} for entry in entries]
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(IncidentEntryRow)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["incident_id", "key"])
            # RETURNING, not rowcount: psycopg reports -1 for multi-row INSERT … ON CONFLICT.
            .returning(IncidentEntryRow.id)
        )
        return len(self.session.execute(statement).all())

    def has_entry(self, incident_id: str, key: str) -> bool:
        query = select(IncidentEntryRow.id).where(
            IncidentEntryRow.incident_id == incident_id, IncidentEntryRow.key == key
        )
        return self.session.scalars(query).first() is not None

    def has_event(self, incident_id: str, event_id: str) -> bool:
        query = select(IncidentEntryRow.id).where(
            IncidentEntryRow.incident_id == incident_id, IncidentEntryRow.event_id == event_id
        )
        return self.session.scalars(query.limit(1)).first() is not None

    def entry_times(self, incident_id: str, since: datetime | None = None) -> list[datetime]:
        """When its events and signals happened: what `if_count_in_window` counts."""
        query = select(IncidentEntryRow.at).where(
            IncidentEntryRow.incident_id == incident_id, IncidentEntryRow.kind.in_(("event", "signal"))
        )
        if since is not None:
            query = query.where(IncidentEntryRow.at >= since)
        return list(self.session.scalars(query))

    def timeline(self, incident_id: str, limit: int = 200) -> list[IncidentEntryRow]:
        query = (
            select(IncidentEntryRow)
            .where(IncidentEntryRow.incident_id == incident_id)
            .order_by(IncidentEntryRow.at, IncidentEntryRow.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def count_entries(self, incident_id: str, kind: str) -> int:
        query = select(func.count()).where(
            IncidentEntryRow.incident_id == incident_id, IncidentEntryRow.kind == kind
        )
        return int(self.session.scalar(query) or 0)

    def mirrored_since(self, incident_id: str, since: datetime) -> int:
        """Events the crisis room received (or queued for a digest) since `since`, by Vigie's clock."""
        query = select(func.count()).where(
            IncidentEntryRow.incident_id == incident_id,
            IncidentEntryRow.kind == "event",
            IncidentEntryRow.mirror != "",
            IncidentEntryRow.recorded_at >= since,
        )
        return int(self.session.scalar(query) or 0)

    def set_mirror(self, incident_id: str, key: str, mirror: str) -> None:
        self.session.execute(
            update(IncidentEntryRow)
            .where(IncidentEntryRow.incident_id == incident_id, IncidentEntryRow.key == key)
            .values(mirror=mirror)
        )

    def take_pending_digest(self, incident_id: str) -> list[IncidentEntryRow]:
        """Events waiting for a digest, marked digested in the same transaction."""
        query = select(IncidentEntryRow).where(
            IncidentEntryRow.incident_id == incident_id, IncidentEntryRow.mirror == "pending"
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(self.session.scalars(query.order_by(IncidentEntryRow.at, IncidentEntryRow.id)))
        for row in rows:
            row.mirror = "digested"
        return rows

    def cards(self, incident_id: str) -> list[PostedMessage]:
        """Where the incident's card was posted (one per platform and channel)."""
        query = (
            select(PostedMessage)
            .where(
                PostedMessage.subject == incident_id,
                PostedMessage.role == "card",
                PostedMessage.thread_id.is_(None),
            )
            .order_by(PostedMessage.id)
        )
        return list(self.session.scalars(query))

    def posts(self, incident_id: str, role: str | None = None) -> list[PostedMessage]:
        query = select(PostedMessage).where(PostedMessage.subject == incident_id)
        if role is not None:
            query = query.where(PostedMessage.role == role)
        return list(self.session.scalars(query.order_by(PostedMessage.id)))
