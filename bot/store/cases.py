"""Repositories for after-sales cases, reply drafts, and the thread ↔ case mapping. They take a
`Unit` (one transaction) and return row objects; the casework services above never see SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from bot.store.models import CaseRow, DraftRow, EventRow, PostedMessage
from bot.store.unit import Unit

UNRESOLVED = ("open", "pending", "snoozed")
# session.info key: conversation key → its latest case, read ahead for a wave (prefetch_conversations)
_LATEST_CASES = "vigie.latest_cases"


class CaseRepo:
    def __init__(self, unit: Unit) -> None:
        self.session = unit.session

    def add(self, case: CaseRow) -> CaseRow:
        self.session.add(case)
        self.session.flush()
        known = self.session.info.get(_LATEST_CASES)
        if known is not None:
            known[case.conversation_key] = case  # the newest case of its conversation now
        return case

    def get(self, case_id: int, *, lock: bool = False) -> CaseRow | None:
        """`lock` takes a row lock (PostgreSQL) so two staff acting on one case serialise. SQLite has
        no row locks (its writers take turns for the whole transaction), so there a case already
        read in this transaction is answered without a query."""
        if lock and self.session.get_bind().dialect.name != "sqlite":
            return self.session.scalars(
                select(CaseRow).where(CaseRow.id == case_id).with_for_update()
            ).first()
        return self.session.get(CaseRow, case_id)

    def prefetch_conversations(self, conversation_keys: Iterable[str]) -> None:
        """Read the latest case of several conversations in one query (a wave's), for
        `latest_for_conversation` to answer from for the rest of this transaction."""
        known: dict[str, CaseRow | None] = self.session.info.setdefault(_LATEST_CASES, {})
        missing = list(dict.fromkeys(key for key in conversation_keys if key not in known))
        if not missing:
            return
        query = (
            select(CaseRow)
            .where(CaseRow.conversation_key.in_(missing))
            .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
        )
        for case in self.session.scalars(query):
            known.setdefault(case.conversation_key, case)
        for key in missing:
            known.setdefault(key, None)

    def latest_for_conversation(self, conversation_key: str) -> CaseRow | None:
        known: dict[str, CaseRow | None] | None = self.session.info.get(_LATEST_CASES)
        if known is not None and conversation_key in known:
            return known[conversation_key]
        query = (
            select(CaseRow)
            .where(CaseRow.conversation_key == conversation_key)
            .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def mark_survey_sent(self, case_id: int, at: datetime) -> bool:
        """Record when the case's survey reached the customer; a conditional UPDATE, so a retried
        delivery keeps the first time (the answer window counts from it). False: already recorded."""
        statement = (
            update(CaseRow)
            .where(CaseRow.id == case_id, CaseRow.survey_sent_at.is_(None))
            .values(survey_sent_at=at)
            .execution_options(synchronize_session=False)
        )
        won = bool(getattr(self.session.execute(statement), "rowcount", 0) == 1)
        case = self.session.get(CaseRow, case_id)
        if case is not None:
            self.session.refresh(case)
        return won

    def list(
        self,
        *,
        statuses: Sequence[str] = (),
        team: str | None = None,
        assignee: str | None = None,
        unassigned: bool = False,
        limit: int = 50,
    ) -> list[CaseRow]:
        query = select(CaseRow)
        if statuses:
            query = query.where(CaseRow.status.in_(statuses))
        if team:
            query = query.where(CaseRow.team == team)
        if assignee:
            query = query.where(CaseRow.assignee == assignee)
        if unassigned:
            query = query.where(CaseRow.assignee.is_(None))
        query = query.order_by(CaseRow.opened_at, CaseRow.id).limit(limit)
        return list(self.session.scalars(query))

    def open_counts(self, assignees: Iterable[str]) -> dict[str, int]:
        """Cases in status `open` per assignee: the per-agent cap counts these (as Chatwoot does)."""
        names = list(assignees)
        counts = dict.fromkeys(names, 0)
        if not names:
            return counts
        query = (
            select(CaseRow.assignee, func.count())
            .where(CaseRow.status == "open", CaseRow.assignee.in_(names))
            .group_by(CaseRow.assignee)
        )
        for assignee, count in self.session.execute(query):
            counts[str(assignee)] = int(count)
        return counts

    def last_assigned(self, assignees: Iterable[str]) -> dict[str, datetime]:
        """When each agent was last given a case. One query per agent: a MAX over one agent's rows is
        a single probe of the (assignee, assigned_at) index, where grouping several would scan."""
        out: dict[str, datetime] = {}
        for name in dict.fromkeys(assignees):
            query = select(func.max(CaseRow.assigned_at)).where(CaseRow.assignee == name)
            at = self.session.execute(query).scalar()
            if at is not None:
                out[name] = _aware(at)
        return out


class DraftRepo:
    def __init__(self, unit: Unit) -> None:
        self.session = unit.session

    def add(self, draft: DraftRow) -> DraftRow:
        self.session.add(draft)
        self.session.flush()
        return draft

    def get(self, draft_id: int) -> DraftRow | None:
        return self.session.get(DraftRow, draft_id)

    def list(
        self, *, statuses: Sequence[str] = (), case_id: int | None = None, limit: int = 50
    ) -> list[DraftRow]:
        query = select(DraftRow)
        if statuses:
            query = query.where(DraftRow.status.in_(statuses))
        if case_id is not None:
            query = query.where(DraftRow.case_id == case_id)
        return list(self.session.scalars(query.order_by(DraftRow.id).limit(limit)))

    def move(self, draft_id: int, from_statuses: Sequence[str], **values: Any) -> bool:
        """Change a draft only if it is still in one of `from_statuses`: a conditional UPDATE, so of two
        simultaneous approvals exactly one wins, on SQLite and PostgreSQL alike."""
        statement = (
            update(DraftRow)
            .where(DraftRow.id == draft_id, DraftRow.status.in_(from_statuses))
            .values(revision=DraftRow.revision + 1, **values)
            .execution_options(synchronize_session=False)
        )
        result = self.session.execute(statement)
        won = bool(getattr(result, "rowcount", 0) == 1)
        draft = self.session.get(DraftRow, draft_id)
        if draft is not None:
            self.session.refresh(draft)
        return won


class EventLookup:
    def __init__(self, unit: Unit) -> None:
        self.session = unit.session

    def get(self, event_id: str) -> EventRow | None:
        return self.session.get(EventRow, event_id)

    def attach(self, event_id: str, case_id: int) -> None:
        row = self.session.get(EventRow, event_id)
        if row is not None:
            row.case_id = case_id

    def record_survey_answer(
        self, event_id: str, case_id: int, rating: int, *, conversation_key: str, since: datetime
    ) -> list[str] | None:
        """Make the event the answer to the case's survey: `metadata.survey_case` and `rating` in its
        payload are what the satisfaction KPI reads. The customer's latest answer is their rating:
        earlier answers to the same survey in the conversation (created since `since`) stop counting
        and their ids are returned; None, and nothing changed, when a later answer already counts
        (events processed out of order) or the event is not stored."""
        row = self.session.get(EventRow, event_id)
        if row is None:
            return None
        query = select(EventRow).where(
            EventRow.conversation_key == conversation_key,
            EventRow.created_at >= since,
            EventRow.id != event_id,
        )
        answers = [e for e in self.session.scalars(query) if _survey_case(e) == case_id]
        if any(_aware(e.created_at) > _aware(row.created_at) for e in answers):
            return None
        for other in answers:
            payload = dict(other.payload or {})
            metadata = dict(payload.get("metadata") or {})
            metadata.pop("survey_case", None)
            # New dicts, not in-place changes: the JSON column only notices assignment.
            other.payload = {**payload, "metadata": metadata, "rating": None}
        payload = dict(row.payload or {})
        metadata = {**(payload.get("metadata") or {}), "survey_case": case_id}
        row.payload = {**payload, "metadata": metadata, "rating": rating}
        return [e.id for e in answers]


def _survey_case(row: EventRow) -> Any:
    return ((row.payload or {}).get("metadata") or {}).get("survey_case")


class PostedLookup:
    def __init__(self, unit: Unit) -> None:
        self.session = unit.session

    def case_at(self, platform: str, channel: str, message: str) -> int | None:
        """The case a message or thread belongs to: `message` is a posted message id or a thread id."""
        query = (
            select(PostedMessage.case_id)
            .where(
                PostedMessage.platform == platform,
                PostedMessage.channel == channel,
                PostedMessage.case_id.is_not(None),
                or_(PostedMessage.message_id == message, PostedMessage.thread_id == message),
            )
            .order_by(PostedMessage.id)
            .limit(1)
        )
        found = self.session.scalars(query).first()
        return int(found) if found is not None else None

    def case_roots(self, case_id: int) -> list[PostedMessage]:
        """The case's top-level cards, one per channel it was mirrored to: what `update_card` re-renders
        and where draft cards are threaded."""
        query = (
            select(PostedMessage)
            .where(
                PostedMessage.case_id == case_id,
                PostedMessage.role == "card",
                PostedMessage.thread_id.is_(None),
            )
            .order_by(PostedMessage.id)
        )
        return list(self.session.scalars(query))

    def for_subject(self, subject: str) -> list[PostedMessage]:
        query = select(PostedMessage).where(PostedMessage.subject == subject).order_by(PostedMessage.id)
        return list(self.session.scalars(query))

    def draft_at(self, platform: str, channel: str, message: str) -> int | None:
        """The draft whose card is this message (for a reply to a draft card)."""
        query = select(PostedMessage.subject).where(
            PostedMessage.platform == platform,
            PostedMessage.channel == channel,
            PostedMessage.message_id == message,
            PostedMessage.subject.like("draft:%"),
        )
        subject = self.session.scalars(query).first()
        if subject is None:
            return None
        try:
            return int(subject.split(":", 1)[1])
        except ValueError:
            return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
