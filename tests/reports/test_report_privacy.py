"""Erasure leaves no trace of the person in any table and the rest intact; retention deletes by kind.
The audit log has append-only triggers here (conftest), so touching it would fail these tests."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, inspect, select, text

from bot.reports.report import load_report
from bot.reports.retention import Retention, retention_of
from bot.store.models import AuditEntry, CaseRow, DraftRow, EventRow
from bot.store.privacy import enforce_retention, forget, request_digest, retention_preview
from bot.store.unit import Store
from bot.workspace import Workspace
from tests.reports.reports_history import E1, E3, NOW, P3, SINCE, UNTIL

PERSON = ("g-77", "Jeanne", "Colis", "cassé", "Still waiting", "google-reviews:author:g-77")


def table_dump(store: Store) -> dict[str, str]:
    out = {}
    with store.db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            out[table] = "\n".join(repr(tuple(row)) for row in rows)
    return out


def traces(store: Store, needles: tuple[str, ...], *, skip: tuple[str, ...] = ()) -> list[str]:
    found = []
    for table, dump in table_dump(store).items():
        if table in skip:
            continue
        for needle in needles:
            # JSON columns store non-ASCII text escaped (cass\u00e9): look for both spellings.
            if needle in dump or json.dumps(needle)[1:-1] in dump:
                found.append(f"{table}: {needle}")
    return found


def test_forget_erases_every_trace_and_says_what(history: Store, workspace: Workspace) -> None:
    before = table_dump(history)
    assert traces(history, PERSON)  # the fixture does hold the person
    counts = forget(history, "google-reviews", "g-77", salt="s3cret", actor="camille", door="cli", now=NOW)
    assert counts == {
        "events": 2,
        "verdicts": 2,
        "effects_deleted": 1,
        "effects_scrubbed": 3,  # case 1's card, draft 1's note, and a page that named the author
        "posted_messages": 1,
        "console_messages_deleted": 1,
        "console_messages_scrubbed": 1,
        "cases_anonymised": 2,
        "drafts_scrubbed": 1,
    }
    assert traces(history, PERSON) == []
    assert traces(history, (E3.id, P3.id), skip=("audit_log",)) == []
    after = table_dump(history)
    assert len(after["audit_log"].splitlines()) == len(before["audit_log"].splitlines()) + 1
    assert E1.id in after["events"] and E1.id in after["console_messages"]  # others untouched


def test_forget_keeps_the_rest_intact(history: Store, workspace: Workspace) -> None:
    with history.unit() as unit:
        audit_before = [(a.id, a.action, a.detail) for a in unit.session.scalars(select(AuditEntry))]
        other = unit.session.get(CaseRow, 2)
        assert other is not None
        other_before = (other.author_id, other.conversation_key, other.sla)
    forget(history, "google-reviews", "g-77", salt="s3cret", actor="camille", door="cli", now=NOW)
    with history.unit() as unit:
        s = unit.session
        assert s.scalar(select(func.count()).select_from(EventRow)) == 10
        audit = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert [(a.id, a.action, a.detail) for a in audit[:-1]] == audit_before
        erasure = audit[-1]
        assert (erasure.action, erasure.actor, erasure.subject) == ("privacy.erasure", "camille", "privacy")
        assert erasure.detail["request"] == request_digest("google-reviews", "g-77", "s3cret")
        assert erasure.detail["events"] == 2
        case = s.get(CaseRow, 1)
        assert case is not None
        assert (case.author_id, case.conversation_key, case.status, case.team) == (
            "erased",
            "erased:1",
            "resolved",
            "care",
        )
        other = s.get(CaseRow, 2)
        assert other is not None and (other.author_id, other.conversation_key, other.sla) == other_before
        kept = s.get(DraftRow, 2)
        draft = s.get(DraftRow, 1)
        assert kept is not None and kept.text == "Merci !"
        assert draft is not None and (draft.text, draft.status) == ("", "sent")
    # The cases keep their timings, so the SLA and response KPIs do not change; e3 left the volume.
    report = load_report(history, workspace, since=SINCE, until=UNTIL, now=NOW)
    assert report.kpis.volume.total == 7
    assert (report.kpis.sla.hit, report.kpis.sla.missed) == (3, 1)
    assert report.kpis.first_response.business.median_s == 1.5 * 3600


def test_forgetting_someone_unknown_changes_nothing_but_the_audit(history: Store) -> None:
    before = table_dump(history)
    counts = forget(history, "instagram", "nobody", salt="s", actor="camille", door="cli", now=NOW)
    assert set(counts.values()) == {0}
    after = table_dump(history)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }


def test_retention_deletes_each_kind_past_its_period(history: Store) -> None:
    policy = Retention(
        events=timedelta(days=10),
        cases=timedelta(days=10),
        drafts=timedelta(days=10),
        effects=timedelta(days=10),
        console_messages=timedelta(days=10),
    )
    cutoffs = policy.cutoffs(NOW)  # 2026-11-15 12:00Z
    assert retention_preview(history, cutoffs) == {
        "console_messages": 0,
        "effects": 1,
        "drafts": 1,
        "events": 2,
        "cases": 1,
    }
    counts = enforce_retention(history, cutoffs, now=NOW)
    # effects: p1's moderation; drafts: draft 2; events: p1, p2 (p3 stays: its case 4 is open); cases: 5
    assert counts == {"console_messages": 0, "effects": 1, "drafts": 1, "events": 2, "cases": 1}
    with history.unit() as unit:
        s = unit.session
        assert s.get(EventRow, P3.id) is not None
        assert s.get(CaseRow, 5) is None and s.get(CaseRow, 4) is not None
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last is not None and (last.action, last.detail) == ("privacy.retention", counts)
    assert retention_preview(history, cutoffs) == dict.fromkeys(counts, 0)


def test_retention_configuration() -> None:
    assert Retention().cutoffs(NOW)["events"] == NOW - timedelta(days=365)
    forever = Retention.model_validate({"events": None, "effects": "30d"})
    assert "events" not in forever.cutoffs(NOW)
    assert forever.effects == timedelta(days=30)
    assert retention_of(Workspace()) == Retention()
