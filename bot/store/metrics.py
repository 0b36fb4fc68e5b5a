"""Read-only counts for `/metrics`, taken from the store at scrape time: the store is shared by
every process (HTTP replicas, workers on several machines), so these are the fleet's numbers, not
one process's. Each query is an indexed GROUP BY over small label sets (bounded cardinality)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.events import utcnow
from bot.store.models import AuditEntry, EffectRow, EventRow, IncidentRow

# Latency buckets of the processing histogram (seconds from receipt to processed).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_WINDOW = timedelta(minutes=15)


class MetricsRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def effects(self) -> dict[tuple[str, str], int]:
        query = select(EffectRow.kind, EffectRow.status, func.count()).group_by(
            EffectRow.kind, EffectRow.status
        )
        return {(kind, status): count for kind, status, count in self.session.execute(query)}

    def incidents(self) -> dict[tuple[str, str], int]:
        query = select(IncidentRow.status, IncidentRow.severity, func.count()).group_by(
            IncidentRow.status, IncidentRow.severity
        )
        return {(status, severity): count for status, severity, count in self.session.execute(query)}

    def audit_actions(self, actions: tuple[str, ...]) -> dict[str, int]:
        query = (
            select(AuditEntry.action, func.count())
            .where(AuditEntry.action.in_(actions))
            .group_by(AuditEntry.action)
        )
        return {action: count for action, count in self.session.execute(query)}

    def processing_latencies(self, now: datetime | None = None) -> list[float]:
        """Receipt → processed, in seconds, for events processed in the last 15 minutes."""
        since = (now or utcnow()) - LATENCY_WINDOW
        query = select(EventRow.received_at, EventRow.processed_at).where(
            EventRow.status == "processed", EventRow.processed_at >= since
        )
        return [(done - received).total_seconds() for received, done in self.session.execute(query) if done]
