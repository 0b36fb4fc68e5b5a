"""After the applier delivered (or gave up on) an approved reply: first response recorded, case to
pending, draft sent or failed and visible; calling twice changes nothing."""

from __future__ import annotations

from datetime import timedelta

from bot.store.models import AuditEntry, CaseRow, DraftRow
from tests.casework.support import Harness, complaint


def approved_draft(h: Harness) -> tuple[int, int]:
    case_id, _ = h.route(complaint())
    h.post_card(case_id)
    draft_id = int(
        h.run("samir", "draft", case_id=case_id, text="Un nouveau colis part demain.").data["draft"]["id"]
    )  # type: ignore[index, call-overload]
    h.post_draft_cards()
    assert h.run("tom", "approve", draft_id=draft_id).ok
    return case_id, draft_id


def rows(h: Harness, case_id: int, draft_id: int) -> tuple[CaseRow, DraftRow]:
    with h.store.unit() as unit:
        case, draft = unit.session.get(CaseRow, case_id), unit.session.get(DraftRow, draft_id)
        assert case is not None and draft is not None
        unit.session.expunge_all()
        return case, draft


def test_delivery_records_the_first_response_and_moves_the_case_to_pending(h: Harness) -> None:
    case_id, draft_id = approved_draft(h)
    h.clock.advance(timedelta(minutes=12))
    with h.store.unit() as unit:
        effects = h.desk.on_reply_delivered(unit, draft_id, h.clock.now, "gr-reply-1")
    case, draft = rows(h, case_id, draft_id)
    assert (draft.status, draft.platform_id, draft.delivered_at) == ("sent", "gr-reply-1", h.clock.now)
    assert (case.status, case.first_response_at, case.last_response_at) == (
        "pending",
        h.clock.now,
        h.clock.now,
    )
    assert case.sla["targets"]["first_response"]["status"] == "hit"
    updated = {e.subject for e in effects if e.kind == "update_card"}
    assert updated == {f"case:{case_id}", f"draft:{draft_id}"}
    with h.store.unit() as unit:
        replied = unit.session.query(AuditEntry).filter_by(action="case.replied").one()
        assert replied.detail["first_response_seconds"] == 12 * 60
    # the applier calls again (a retried job): nothing changes, nothing is emitted
    with h.store.unit() as unit:
        assert (
            h.desk.on_reply_delivered(unit, draft_id, h.clock.now + timedelta(minutes=5), "gr-reply-1") == []
        )
    again, _ = rows(h, case_id, draft_id)
    assert again.revision == case.revision


def test_a_second_reply_keeps_the_first_response_time(h: Harness) -> None:
    case_id, first = approved_draft(h)
    with h.store.unit() as unit:
        h.desk.on_reply_delivered(unit, first, h.clock.now, "p1")
    second = int(h.run("samir", "draft", case_id=case_id, text="Suivi.").data["draft"]["id"])  # type: ignore[index, call-overload]
    assert h.run("camille", "approve", draft_id=second).ok
    later = h.clock.advance(timedelta(hours=1))
    with h.store.unit() as unit:
        h.desk.on_reply_delivered(unit, second, later, "p2")
    case, _ = rows(h, case_id, second)
    assert case.first_response_at == later - timedelta(hours=1) and case.last_response_at == later


def test_a_failed_delivery_ends_visible_with_its_error(h: Harness) -> None:
    case_id, draft_id = approved_draft(h)
    with h.store.unit() as unit:
        effects = h.desk.on_reply_failed(unit, draft_id, "google-reviews reply endpoint answered HTTP 400")
    case, draft = rows(h, case_id, draft_id)
    assert draft.status == "failed" and "HTTP 400" in str(draft.delivery_error)
    assert case.status == "open" and case.first_response_at is None
    (card,) = [e for e in effects if e.subject == f"draft:{draft_id}"]
    assert "HTTP 400" in str(card.params["card"]["footer"])  # type: ignore[index, call-overload]
    with h.store.unit() as unit:
        assert h.desk.on_reply_failed(unit, draft_id, "again") == []
