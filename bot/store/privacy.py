"""Erasure of one person (`forget`) and retention (`enforce_retention`).

Erasure is one transaction: a half-erased person is worse than none. The person's events go, with
their verdicts (which quote matched text), effects (rendered cards carry the text and the author's
name), posting records and console cards. Their cases stay for the KPIs but lose every identifier
(author, conversation key, event ids), and the drafts of those cases, which may quote the customer,
lose their text. Rows elsewhere that still name the person (a card or effect mentioning their id or
one of their events) are scrubbed. The audit log is append-only and holds ids only; it gains one
`privacy.erasure` entry with counts and a salted hash of the request, never the identifiers.

Retention runs one transaction per kind, so a long purge never holds one lock over everything."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session

from bot.events import utcnow
from bot.reports.retention import RETENTION_KINDS, RetentionKind
from bot.store.models import CaseRow, ConsoleMessage, DraftRow, EffectRow, EventRow, PostedMessage, VerdictRow
from bot.store.unit import Store, Unit

ERASED = "erased"
ERASED_CARD: dict[str, Any] = {
    "title": "[erased]",
    "text": "",
    "fields": [],
    "labels": [],
    "url": None,
    "buttons": [],
    "severity": "info",
    "footer": "",
}
ERASED_PARAMS: dict[str, Any] = {"erased": True}
CHUNK = 400  # ids per IN (…) / OR-LIKE clause: under SQLite's and PostgreSQL's parameter limits
FINAL_DRAFTS = ("sent", "rejected", "expired", "failed")
SETTLED_EFFECTS = ("applied", "failed")


def request_digest(source: str, author_id: str, salt: str) -> str:
    """Proves which request was carried out to whoever knows the salt, and tells nobody else."""
    return hashlib.sha256(f"{salt}\x00{source}\x00{author_id}".encode()).hexdigest()


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _mentions(column: Any, needles: Sequence[str]) -> Any:
    """The JSON text of `column` contains one of `needles` (as JSON encodes them)."""
    text = cast(column, String)
    return or_(*(text.like(f"%{_like_escape(n)}%", escape="\\") for n in needles))


def forget(
    store: Store,
    source: str,
    author_id: str,
    *,
    salt: str,
    actor: str,
    door: str,
    now: datetime | None = None,
) -> dict[str, int]:
    """Erase one person's data everywhere in the store; returns what was removed or scrubbed."""
    with store.unit() as unit:
        counts = erase_person(unit, source, author_id)
        unit.audit(
            actor=actor,
            door=door,
            action="privacy.erasure",
            subject="privacy",
            detail={**counts, "request": request_digest(source, author_id, salt)},
            at=now or utcnow(),
        )
    return counts


def erase_person(unit: Unit, source: str, author_id: str) -> dict[str, int]:
    s = unit.session
    event_ids = list(
        s.scalars(select(EventRow.id).where(EventRow.source == source, EventRow.author_id == author_id))
    )
    conversation = f"{source}:author:{author_id}"
    case_ids = list(
        s.scalars(
            select(CaseRow.id).where(
                or_(
                    (CaseRow.source == source) & (CaseRow.author_id == author_id),
                    CaseRow.conversation_key == conversation,
                )
            )
        )
    )
    # Cases of other people that the person wrote into keep their data, but their cards may quote
    # the person, so those cards are scrubbed too (they are views; the next change re-renders them).
    touched = set(case_ids)
    for ids in _chunks(event_ids):
        touched.update(
            c for c in s.scalars(select(EventRow.case_id).where(EventRow.id.in_(ids))) if c is not None
        )
    draft_ids = _drafts_touching(s, case_ids, event_ids)
    subjects = [*(f"case:{c}" for c in sorted(touched)), *(f"draft:{d}" for d in draft_ids)]
    counts = dict.fromkeys(
        (
            "events",
            "verdicts",
            "effects_deleted",
            "effects_scrubbed",
            "posted_messages",
            "console_messages_deleted",
            "console_messages_scrubbed",
            "cases_anonymised",
            "drafts_scrubbed",
        ),
        0,
    )
    for ids in _chunks(event_ids):
        counts["verdicts"] += _rows(s.execute(delete(VerdictRow).where(VerdictRow.event_id.in_(ids))))
        counts["effects_deleted"] += _rows(s.execute(delete(EffectRow).where(EffectRow.subject.in_(ids))))
        counts["posted_messages"] += _rows(
            s.execute(delete(PostedMessage).where(PostedMessage.subject.in_(ids)))
        )
        keyed = or_(*(ConsoleMessage.key.like(f"{_like_escape(i)}:%", escape="\\") for i in ids))
        counts["console_messages_deleted"] += _rows(s.execute(delete(ConsoleMessage).where(keyed)))
        s.execute(
            update(DraftRow).where(DraftRow.reply_to_event_id.in_(ids)).values(reply_to_event_id=ERASED)
        )
        for column in (CaseRow.first_event_id, CaseRow.last_event_id):
            s.execute(update(CaseRow).where(column.in_(ids)).values({column.key: ERASED}))
        counts["events"] += _rows(s.execute(delete(EventRow).where(EventRow.id.in_(ids))))
    for ids in _chunks(subjects):
        counts["effects_scrubbed"] += _rows(
            s.execute(
                update(EffectRow)
                .where(EffectRow.subject.in_(ids))
                .values(params=ERASED_PARAMS, result=None, error=None)
            )
        )
        keyed = or_(*(ConsoleMessage.key.like(f"{_like_escape(i)}:%", escape="\\") for i in ids))
        counts["console_messages_scrubbed"] += _rows(
            s.execute(update(ConsoleMessage).where(keyed).values(card=ERASED_CARD))
        )
    for ids in _chunks(draft_ids):
        counts["drafts_scrubbed"] += _rows(
            s.execute(
                update(DraftRow)
                .where(DraftRow.id.in_(ids))
                .values(text="", reason=None, ethics={}, delivery_error=None, platform_id=None)
            )
        )
    for case_id in case_ids:
        s.execute(
            update(CaseRow)
            .where(CaseRow.id == case_id)
            .values(
                author_id=ERASED,
                conversation_key=f"{ERASED}:{case_id}",
                first_event_id=ERASED,
                last_event_id=ERASED,
            )
        )
    counts["cases_anonymised"] = len(case_ids)
    # Anything else still naming the person: their id as a JSON string, or one of their event ids.
    needles = [json.dumps(author_id), *event_ids]
    for group in _chunks(needles):
        counts["effects_scrubbed"] += _rows(
            s.execute(
                update(EffectRow)
                .where(_mentions(EffectRow.params, group) | _mentions(EffectRow.result, group))
                .values(params=ERASED_PARAMS, result=None, error=None)
                .execution_options(synchronize_session=False)
            )
        )
        counts["console_messages_scrubbed"] += _rows(
            s.execute(
                update(ConsoleMessage)
                .where(_mentions(ConsoleMessage.card, group))
                .values(card=ERASED_CARD)
                .execution_options(synchronize_session=False)
            )
        )
    return counts


def _drafts_touching(session: Session, case_ids: Sequence[int], event_ids: Sequence[str]) -> list[int]:
    found: set[int] = set()
    for ids in _chunks(case_ids):
        found.update(session.scalars(select(DraftRow.id).where(DraftRow.case_id.in_(ids))))
    for ids in _chunks(event_ids):
        found.update(session.scalars(select(DraftRow.id).where(DraftRow.reply_to_event_id.in_(ids))))
    return sorted(found)


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- retention -----------------------------------------------------------------------------------


def enforce_retention(
    store: Store,
    cutoffs: Mapping[RetentionKind, datetime],
    *,
    actor: str = "vigie",
    door: str = "worker",
    now: datetime | None = None,
) -> dict[str, int]:
    """Delete what is older than each kind's cutoff (`Retention.cutoffs`), one transaction per kind."""
    counts: dict[str, int] = {}
    for kind in RETENTION_KINDS:
        if kind in cutoffs:
            with store.unit() as unit:
                counts[kind] = _PURGE[kind](unit.session, cutoffs[kind])
    with store.unit() as unit:
        unit.audit(
            actor=actor,
            door=door,
            action="privacy.retention",
            subject="retention",
            detail=counts,
            at=now or utcnow(),
        )
    return counts


def retention_preview(store: Store, cutoffs: Mapping[RetentionKind, datetime]) -> dict[str, int]:
    """How many rows of each kind `enforce_retention` would delete now (dependent rows not counted)."""
    with store.unit() as unit:
        return {
            kind: int(
                unit.session.scalar(
                    select(func.count()).select_from(_EXPIRED[kind](cutoffs[kind]).subquery())
                )
                or 0
            )
            for kind in RETENTION_KINDS
            if kind in cutoffs
        }


def _expired_console(cutoff: datetime) -> Any:
    return select(ConsoleMessage.id).where(ConsoleMessage.posted_at < cutoff)


def _expired_effects(cutoff: datetime) -> Any:
    moment = func.coalesce(EffectRow.applied_at, EffectRow.claimed_at)
    return select(EffectRow.key).where(EffectRow.status.in_(SETTLED_EFFECTS), moment < cutoff)


def _expired_drafts(cutoff: datetime) -> Any:
    return select(DraftRow.id).where(DraftRow.status.in_(FINAL_DRAFTS), DraftRow.created_at < cutoff)


def _expired_events(cutoff: datetime) -> Any:
    # An event of a case still being worked on stays: the case card and SLA clocks refer to it.
    unresolved = select(CaseRow.id).where(CaseRow.status != "resolved")
    return select(EventRow.id).where(
        EventRow.created_at < cutoff, or_(EventRow.case_id.is_(None), EventRow.case_id.not_in(unresolved))
    )


def _expired_cases(cutoff: datetime) -> Any:
    return select(CaseRow.id).where(CaseRow.status == "resolved", CaseRow.resolved_at < cutoff)


_EXPIRED = {
    "console_messages": _expired_console,
    "effects": _expired_effects,
    "drafts": _expired_drafts,
    "events": _expired_events,
    "cases": _expired_cases,
}


def _purge_console(s: Session, cutoff: datetime) -> int:
    return _rows(s.execute(delete(ConsoleMessage).where(ConsoleMessage.posted_at < cutoff)))


def _purge_effects(s: Session, cutoff: datetime) -> int:
    return _rows(s.execute(delete(EffectRow).where(EffectRow.key.in_(_expired_effects(cutoff)))))


def _subjects(prefix: str, ids: Any) -> Any:
    return select(literal(prefix) + cast(ids.c.id, String)).select_from(ids)


def _purge_drafts(s: Session, cutoff: datetime) -> int:
    old = _expired_drafts(cutoff).subquery()
    s.execute(delete(PostedMessage).where(PostedMessage.subject.in_(_subjects("draft:", old))))
    s.execute(delete(EffectRow).where(EffectRow.subject.in_(_subjects("draft:", old))))
    return _rows(s.execute(delete(DraftRow).where(DraftRow.id.in_(select(old.c.id)))))


def _purge_events(s: Session, cutoff: datetime) -> int:
    ids = list(s.scalars(_expired_events(cutoff)))
    total = 0
    for chunk in _chunks(ids):
        s.execute(delete(VerdictRow).where(VerdictRow.event_id.in_(chunk)))
        s.execute(delete(EffectRow).where(EffectRow.subject.in_(chunk)))
        s.execute(delete(PostedMessage).where(PostedMessage.subject.in_(chunk)))
        keyed = or_(*(ConsoleMessage.key.like(f"{_like_escape(i)}:%", escape="\\") for i in chunk))
        s.execute(delete(ConsoleMessage).where(keyed))
        total += _rows(s.execute(delete(EventRow).where(EventRow.id.in_(chunk))))
    return total


def _purge_cases(s: Session, cutoff: datetime) -> int:
    ids = list(s.scalars(_expired_cases(cutoff)))
    total = 0
    for chunk in _chunks(ids):
        drafts = list(s.scalars(select(DraftRow.id).where(DraftRow.case_id.in_(chunk))))
        subjects = [*(f"case:{c}" for c in chunk), *(f"draft:{d}" for d in drafts)]
        for group in _chunks(subjects):
            s.execute(delete(EffectRow).where(EffectRow.subject.in_(group)))
            s.execute(delete(PostedMessage).where(PostedMessage.subject.in_(group)))
        s.execute(delete(PostedMessage).where(PostedMessage.case_id.in_(chunk)))
        s.execute(delete(DraftRow).where(DraftRow.case_id.in_(chunk)))
        # Events outlive their case when the events policy is longer; they keep no dangling reference.
        s.execute(update(EventRow).where(EventRow.case_id.in_(chunk)).values(case_id=None))
        total += _rows(s.execute(delete(CaseRow).where(CaseRow.id.in_(chunk))))
    return total


_PURGE = {
    "console_messages": _purge_console,
    "effects": _purge_effects,
    "drafts": _purge_drafts,
    "events": _purge_events,
    "cases": _purge_cases,
}
