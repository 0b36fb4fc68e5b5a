"""Plain records the KPIs are computed from. The store builds them (bot/store/reports.py); tests
build them by hand. Times are aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EventRecord:
    """One stored event with its verdict and, when routed, its case's team and assignee."""

    id: str
    source: str
    kind: str
    created_at: datetime
    text: str = ""
    rating: int | None = None
    brand: str | None = None
    labels: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    sentiment: float | None = None
    case_id: int | None = None
    team: str | None = None
    assignee: str | None = None
    case_labels: tuple[str, ...] = ()
    survey_case: int | None = None
    """Set when the event answers a satisfaction survey about this case (metadata `survey_case`)."""


@dataclass(frozen=True)
class CaseRecord:
    id: int
    team: str
    source: str
    status: str
    opened_at: datetime
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    priority: str = "normal"
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    sla: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModerationRecord:
    """An applied `moderate` effect: what was done, under which rule, to which event."""

    event_id: str
    action: str
    rule: str
    applied_at: datetime
    source: str
    labels: tuple[str, ...] = ()
    team: str | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class IncidentRecord:
    """A crisis incident as the audit log tells it (`crisis.open`, first `crisis.ack`)."""

    id: str
    opened_at: datetime
    acknowledged_at: datetime | None = None


@dataclass(frozen=True)
class History:
    events: tuple[EventRecord, ...] = ()
    cases: tuple[CaseRecord, ...] = ()
    moderation: tuple[ModerationRecord, ...] = ()
    incidents: tuple[IncidentRecord, ...] = ()
