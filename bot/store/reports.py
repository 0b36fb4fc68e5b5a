"""Read queries for reports, the audit trail and exports. They turn rows into the plain records of
`bot.reports.records` (KPIs are computed there, not in SQL, so both backends give the same numbers)
and stream large ranges with `yield_per`, so an export never holds a whole table in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.reports.records import CaseRecord, EventRecord, History, IncidentRecord, ModerationRecord
from bot.store.models import AuditEntry, CaseRow, DraftRow, EffectRow, EventRow, VerdictRow
from bot.store.unit import Unit

BATCH = 1000  # rows fetched per round trip when streaming
ExportKind = Literal["events", "cases", "drafts", "actions", "audit"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("events", "cases", "drafts", "actions", "audit")


class ReportRepo:
    def __init__(self, unit: Unit) -> None:
        self.session: Session = unit.session

    # --- KPIs -------------------------------------------------------------------------------------

    def history(self, start: datetime, end: datetime) -> History:
        """Everything the KPIs of [start, end) need (pass the previous period's start to get both)."""
        events = self._events(start, end)
        wanted = {e.survey_case for e in events if e.survey_case is not None}
        cases = self._cases(start, end, wanted)
        by_id = {c.id: c for c in cases}
        events = [_with_survey_case(e, by_id.get(e.survey_case)) if e.survey_case else e for e in events]
        return History(
            events=tuple(events),
            cases=tuple(cases),
            moderation=tuple(self._moderation(start, end)),
            incidents=tuple(self._incidents(start, end)),
        )

    def _events(self, start: datetime, end: datetime) -> list[EventRecord]:
        query = (
            select(EventRow, VerdictRow, CaseRow.team, CaseRow.assignee, CaseRow.labels)
            .outerjoin(VerdictRow, VerdictRow.event_id == EventRow.id)
            .outerjoin(CaseRow, CaseRow.id == EventRow.case_id)
            .where(EventRow.created_at >= start, EventRow.created_at < end)
            .order_by(EventRow.created_at)
            .execution_options(yield_per=BATCH)
        )
        out = []
        for row, verdict, team, assignee, case_labels in self.session.execute(query):
            payload: dict[str, Any] = row.payload or {}
            metadata = payload.get("metadata") or {}
            out.append(
                EventRecord(
                    id=row.id,
                    source=row.source,
                    kind=row.kind,
                    created_at=row.created_at,
                    text=str(payload.get("text") or ""),
                    rating=payload.get("rating"),
                    brand=payload.get("brand"),
                    labels=tuple(verdict.labels) if verdict else (),
                    rules=tuple(verdict.rules) if verdict else (),
                    sentiment=verdict.sentiment if verdict else None,
                    case_id=row.case_id,
                    team=team or (verdict.route_team if verdict else None),
                    assignee=assignee,
                    case_labels=tuple(case_labels or ()),
                    survey_case=_int_or_none(metadata.get("survey_case")),
                )
            )
        return out

    def _cases(self, start: datetime, end: datetime, also: set[int]) -> list[CaseRecord]:
        # A case resolved before the range can have nothing in it: its response came before resolving.
        live = (CaseRow.opened_at < end) & (or_(CaseRow.resolved_at.is_(None), CaseRow.resolved_at >= start))
        condition = or_(live, CaseRow.id.in_(sorted(also))) if also else live
        query = select(CaseRow).where(condition).order_by(CaseRow.id).execution_options(yield_per=BATCH)
        return [
            CaseRecord(
                id=c.id,
                team=c.team,
                source=c.source,
                status=c.status,
                opened_at=c.opened_at,
                labels=tuple(c.labels or ()),
                assignee=c.assignee,
                priority=c.priority,
                first_response_at=c.first_response_at,
                resolved_at=c.resolved_at,
                sla=dict(c.sla or {}),
            )
            for c in self.session.scalars(query)
        ]

    def _moderation(self, start: datetime, end: datetime) -> list[ModerationRecord]:
        query = (
            select(EffectRow, EventRow.source, VerdictRow.labels, CaseRow.team, CaseRow.assignee)
            .outerjoin(EventRow, EventRow.id == EffectRow.subject)
            .outerjoin(VerdictRow, VerdictRow.event_id == EffectRow.subject)
            .outerjoin(CaseRow, CaseRow.id == EventRow.case_id)
            .where(
                EffectRow.kind == "moderate",
                EffectRow.status == "applied",
                EffectRow.applied_at >= start,
                EffectRow.applied_at < end,
            )
        )
        out = []
        for effect, source, labels, team, assignee in self.session.execute(query):
            action = (effect.params or {}).get("action") or {}
            assert effect.applied_at is not None
            out.append(
                ModerationRecord(
                    event_id=effect.subject,
                    action=str(action.get("type") or effect.key.rsplit(":", 1)[-1]),
                    rule=str(action.get("rule") or "?"),
                    applied_at=effect.applied_at,
                    source=source or "?",
                    labels=tuple(labels or ()),
                    team=team,
                    assignee=assignee,
                )
            )
        return out

    def _incidents(self, start: datetime, end: datetime) -> list[IncidentRecord]:
        """No incidents table yet: an incident is its `crisis.open` audit entry, acknowledged at its
        first `crisis.ack` (subject `incident:<id>`)."""
        opened = self.session.execute(
            select(AuditEntry.subject, func.min(AuditEntry.at))
            .where(AuditEntry.action == "crisis.open", AuditEntry.at >= start, AuditEntry.at < end)
            .group_by(AuditEntry.subject)
        ).all()
        subjects = [subject for subject, _ in opened]
        acks: dict[str, datetime] = {}
        if subjects:
            acks = {
                subject: at
                for subject, at in self.session.execute(
                    select(AuditEntry.subject, func.min(AuditEntry.at))
                    .where(AuditEntry.action == "crisis.ack", AuditEntry.subject.in_(subjects))
                    .group_by(AuditEntry.subject)
                )
            }
        return [
            IncidentRecord(
                id=subject.removeprefix("incident:"),
                opened_at=_aware(at),
                acknowledged_at=_aware(acks[subject]) if subject in acks else None,
            )
            for subject, at in opened
        ]

    # --- audit trail ------------------------------------------------------------------------------

    def audit(
        self,
        *,
        case_id: int | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """Newest last. A case's trail includes its drafts' and its events' entries."""
        query = select(AuditEntry)
        if case_id is not None:
            query = query.where(AuditEntry.subject.in_(self._case_subjects(case_id)))
        if actor:
            query = query.where(AuditEntry.actor == actor)
        if since:
            query = query.where(AuditEntry.at >= since)
        if until:
            query = query.where(AuditEntry.at < until)
        if action:
            query = query.where(
                or_(AuditEntry.action == action, AuditEntry.action.like(f"{_like(action)}.%", "\\"))
            )
        newest = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        return list(reversed(list(self.session.scalars(newest))))

    def _case_subjects(self, case_id: int) -> list[str]:
        drafts = self.session.scalars(select(DraftRow.id).where(DraftRow.case_id == case_id))
        events = self.session.scalars(select(EventRow.id).where(EventRow.case_id == case_id))
        return [f"case:{case_id}", *(f"draft:{d}" for d in drafts), *events]

    # --- export -----------------------------------------------------------------------------------

    def count(self, kind: ExportKind, start: datetime, end: datetime) -> int:
        query = _export_query(kind, start, end).order_by(None)
        return int(self.session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    def stream(self, kind: ExportKind, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Rows of one kind in the range, oldest first, as JSON-safe dicts, `BATCH` rows at a time."""
        query = _export_query(kind, start, end).execution_options(yield_per=BATCH)
        for row in self.session.execute(query):
            yield _as_dict(kind, row)


def _export_query(kind: ExportKind, start: datetime, end: datetime) -> Any:
    if kind == "events":
        return (
            select(EventRow, VerdictRow)
            .outerjoin(VerdictRow, VerdictRow.event_id == EventRow.id)
            .where(EventRow.created_at >= start, EventRow.created_at < end)
            .order_by(EventRow.created_at, EventRow.id)
        )
    if kind == "cases":
        return (
            select(CaseRow)
            .where(CaseRow.opened_at >= start, CaseRow.opened_at < end)
            .order_by(CaseRow.opened_at, CaseRow.id)
        )
    if kind == "drafts":
        return (
            select(DraftRow)
            .where(DraftRow.created_at >= start, DraftRow.created_at < end)
            .order_by(DraftRow.created_at, DraftRow.id)
        )
    if kind == "actions":
        moment = func.coalesce(EffectRow.applied_at, EffectRow.claimed_at)
        return select(EffectRow).where(moment >= start, moment < end).order_by(moment, EffectRow.key)
    return (
        select(AuditEntry)
        .where(AuditEntry.at >= start, AuditEntry.at < end)
        .order_by(AuditEntry.at, AuditEntry.id)
    )


def _columns(row: Any, names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


_EVENT = (
    "id",
    "source",
    "external_id",
    "kind",
    "author_id",
    "created_at",
    "received_at",
    "status",
    "case_id",
)
_CASE = (
    "id",
    "team",
    "status",
    "priority",
    "labels",
    "assignee",
    "source",
    "author_id",
    "opened_at",
    "first_response_at",
    "last_response_at",
    "resolved_at",
    "sla",
    "opened_by",
)
_DRAFT = (
    "id",
    "case_id",
    "reply_to_event_id",
    "author",
    "text",
    "status",
    "template",
    "lang",
    "created_at",
    "decided_by",
    "decided_at",
    "reason",
    "delivered_at",
    "delivery_error",
    "edited_by",
)
_ACTION = (
    "key",
    "kind",
    "subject",
    "status",
    "attempts",
    "claimed_by",
    "claimed_at",
    "applied_at",
    "params",
    "result",
    "error",
)
_AUDIT = ("id", "at", "actor", "door", "action", "subject", "detail")


def _as_dict(kind: ExportKind, row: Any) -> dict[str, Any]:
    if kind == "events":
        event, verdict = row
        data = _columns(event, _EVENT)
        data["event"] = event.payload
        data["labels"] = list(verdict.labels) if verdict else []
        data["rules"] = list(verdict.rules) if verdict else []
        data["sentiment"] = verdict.sentiment if verdict else None
        return data
    names = {"cases": _CASE, "drafts": _DRAFT, "actions": _ACTION, "audit": _AUDIT}[kind]
    return _columns(row[0], names)


def _with_survey_case(event: EventRecord, case: CaseRecord | None) -> EventRecord:
    """A survey answer is about a case: filters by team, staff and label follow that case."""
    if case is None:
        return event
    return replace(event, team=case.team, assignee=case.assignee, case_labels=case.labels)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
