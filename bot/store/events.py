"""Events and verdicts: stored once, tracked from received to processed, found by the sweeper when
they were never enqueued or their worker died."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.events import Event, Verdict, utcnow
from bot.store.models import CaseRow, EventRow, VerdictRow


class EventRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert_many(self, events: Sequence[Event], now: datetime | None = None) -> set[str]:
        """Insert events that are not stored yet; return the ids that were new. One statement, and the
        unique (source, external_id) constraint decides, so concurrent redeliveries cannot both win."""
        if not events:
            return set()
        now = now or utcnow()
        rows: dict[str, dict[str, Any]] = {}
        for event in events:
            rows.setdefault(
                event.id,
                {
                    "id": event.id,
                    "source": event.source,
                    "external_id": event.external_id,
                    "kind": event.kind,
                    "author_id": event.author.id,
                    "conversation_key": event.conversation_key,
                    "payload": event.model_dump(mode="json"),
                    "created_at": event.created_at,
                    "received_at": now,
                    "status": "received",
                    "attempts": 0,
                },
            )
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # Rows as parameters, one multi-row INSERT all the same (see console post_many_in).
        statement = (
            insert(EventRow)
            .on_conflict_do_nothing(index_elements=["source", "external_id"])
            .returning(EventRow.id)
        )
        return {row[0] for row in self.session.execute(statement, list(rows.values()))}

    def get(self, event_id: str) -> EventRow | None:
        return self.session.get(EventRow, event_id)

    def get_many(self, event_ids: Sequence[str]) -> dict[str, EventRow]:
        """The stored rows of a batch, in one SELECT; missing ids are absent from the result."""
        if not event_ids:
            return {}
        query = select(EventRow).where(EventRow.id.in_(list(event_ids)))
        return {row.id: row for row in self.session.scalars(query)}

    def get_event(self, event_id: str) -> Event | None:
        row = self.get(event_id)
        return Event.model_validate(row.payload) if row else None

    def mark_queued(self, jobs: Mapping[str, str], now: datetime | None = None) -> None:
        """Events (id → the job that carries them) are in the queue: one UPDATE per job."""
        by_job: dict[str, list[str]] = {}
        for event_id, job_id in jobs.items():
            by_job.setdefault(job_id, []).append(event_id)
        at = now or utcnow()
        for job_id, event_ids in by_job.items():
            self.session.execute(
                update(EventRow)
                .where(EventRow.id.in_(event_ids), EventRow.status == "received")
                .values(status="queued", enqueued_at=at, job_id=job_id)
            )

    def mark_unqueued(self, event_ids: Sequence[str]) -> None:
        """Queued events whose job could not be enqueued: received again, for the sweeper."""
        if event_ids:
            self.session.execute(
                update(EventRow)
                .where(EventRow.id.in_(list(event_ids)), EventRow.status == "queued")
                .values(status="received", enqueued_at=None, job_id=None)
            )

    def mark_requeued(self, event_id: str, attempt: int, job_id: str, now: datetime | None = None) -> None:
        self.session.execute(
            update(EventRow)
            .where(EventRow.id == event_id)
            .values(status="queued", enqueued_at=now or utcnow(), attempts=attempt, job_id=job_id)
        )

    def mark_processed(self, event_ids: str | Sequence[str], now: datetime | None = None) -> None:
        ids = [event_ids] if isinstance(event_ids, str) else list(event_ids)
        if ids:
            self.session.execute(
                update(EventRow)
                .where(EventRow.id.in_(ids))
                .values(status="processed", processed_at=now or utcnow())
            )

    def mark_failed(self, event_id: str, error: str) -> None:
        self.session.execute(
            update(EventRow).where(EventRow.id == event_id).values(status="failed", error=error)
        )

    def unqueued(self, older_than: timedelta, limit: int = 500) -> list[str]:
        """Stored but never enqueued (Redis was down at that moment)."""
        cutoff = utcnow() - older_than
        query = (
            select(EventRow.id)
            .where(EventRow.status == "received", EventRow.received_at < cutoff)
            .order_by(EventRow.received_at)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def queued_since(self, older_than: timedelta, limit: int = 500) -> list[tuple[str, int, str | None]]:
        """Enqueued a while ago and still not processed: candidates for a liveness check, with the
        attempt number and the job that carries them."""
        cutoff = utcnow() - older_than
        query = (
            select(EventRow.id, EventRow.attempts, EventRow.job_id)
            .where(EventRow.status == "queued", EventRow.enqueued_at < cutoff)
            .order_by(EventRow.enqueued_at)
            .limit(limit)
        )
        return [(row[0], row[1], row[2]) for row in self.session.execute(query)]

    def status_counts(self) -> dict[str, int]:
        query = select(EventRow.status, func.count()).group_by(EventRow.status)
        return {status: count for status, count in self.session.execute(query)}

    def save_verdict(self, verdict: Verdict, now: datetime | None = None) -> None:
        self.save_verdicts([verdict], now)

    def save_verdicts(self, verdicts: Sequence[Verdict], now: datetime | None = None) -> None:
        """Store verdicts, replacing any earlier one of the same event: one statement for a wave (an
        ORM merge would SELECT and INSERT each)."""
        if not verdicts:
            return
        at = now or utcnow()
        rows = [
            {
                "event_id": verdict.event_id,
                "labels": list(verdict.labels),
                "rules": list(verdict.rules),
                "verdict": verdict.model_dump(mode="json"),
                "lang": verdict.lang,
                "sentiment": verdict.sentiment,
                "crisis_score": verdict.crisis_score,
                "route_team": verdict.route.team if verdict.route else None,
                "rulebook_version": verdict.rulebook_version,
                "evaluated_at": at,
            }
            for verdict in verdicts
        ]
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(cast(Table, VerdictRow.__table__))
        replaced = {name: statement.excluded[name] for name in rows[0] if name != "event_id"}
        # Core, executemany: the rows are not needed as ORM objects in this transaction.
        self.session.execute(
            statement.on_conflict_do_update(index_elements=["event_id"], set_=replaced), rows
        )

    def verdict(self, event_id: str) -> Verdict | None:
        row = self.session.get(VerdictRow, event_id)
        return Verdict.model_validate(row.verdict) if row else None

    def verdicts(self, event_ids: Sequence[str]) -> dict[str, Verdict]:
        """The stored verdicts of a batch, in one SELECT."""
        if not event_ids:
            return {}
        query = select(VerdictRow).where(VerdictRow.event_id.in_(list(event_ids)))
        return {row.event_id: Verdict.model_validate(row.verdict) for row in self.session.scalars(query)}

    def strikes(self, source: str, author_id: str, since: datetime) -> int:
        """Prior moderation hits of an author: verdicts labelled toxic or spam since `since`."""
        query = (
            select(VerdictRow.labels)
            .join(EventRow, EventRow.id == VerdictRow.event_id)
            .where(EventRow.source == source, EventRow.author_id == author_id, EventRow.created_at >= since)
        )
        return sum(1 for labels in self.session.scalars(query) if {"toxic", "spam"} & set(labels))

    def label_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for labels in self.session.scalars(select(VerdictRow.labels)):
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def cases_overview(self) -> list[dict[str, Any]]:
        return [
            {
                "id": c.id,
                "team": c.team,
                "status": c.status,
                "priority": c.priority,
                "assignee": c.assignee,
                "labels": list(c.labels),
            }
            for c in self.session.scalars(select(CaseRow).order_by(CaseRow.id))
        ]
