"""The satisfaction survey through the real pipeline, applier and staff door: asked once per case
when it is resolved, in the customer's language; a rating answers it without reopening the case
and counts in the satisfaction KPI; anything else, or a late rating, is an ordinary message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.events import Event
from bot.reports.report import load_report
from bot.store.models import AuditEntry, CaseRow
from tests.survey.conftest import Desk

COMPLAINT_FR = "Bonjour, le colis est arrivé cassé, je veux être remboursé"
COMPLAINT_EN = "Hello, my blender arrived broken and I want a refund"


def load_case(desk: Desk, case_id: int) -> CaseRow:
    with desk.rt.store.unit() as unit:
        case = unit.session.get(CaseRow, case_id)
        assert case is not None
        unit.session.expunge(case)
        return case


def stored(desk: Desk, event: Event) -> tuple[dict[str, Any], int | None]:
    """The event's stored payload and the case it joined."""
    with desk.rt.store.unit() as unit:
        row = unit.events.get(event.id)
        assert row is not None and row.status == "processed"
        return dict(row.payload), row.case_id


def audits(desk: Desk, action: str) -> list[dict[str, Any]]:
    with desk.rt.store.unit() as unit:
        rows = unit.session.query(AuditEntry).filter(AuditEntry.action == action).all()
        return [dict(r.detail) for r in rows]


def resolved_case(desk: Desk, complaint: str = COMPLAINT_FR) -> CaseRow:
    _payload, case_id = stored(desk, desk.write(complaint))
    assert case_id is not None, "the complaint did not open a case"
    desk.staff("resolve", case_id=case_id)
    return load_case(desk, case_id)


def test_resolving_asks_the_customer_once_in_their_language(desk: Desk) -> None:
    case = resolved_case(desk)
    [survey] = desk.surveys()
    assert survey.text == desk.rt.workspace.survey.question.fr
    assert survey.footer == f"case:{case.id}:survey"
    assert case.survey_sent_at is not None
    assert audits(desk, "case.survey_sent") == [{"event": case.last_event_id, "lang": "fr"}]


def test_an_english_customer_is_asked_in_english_by_a_french_desk(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk(language="fr")
    resolved_case(desk, COMPLAINT_EN)
    [survey] = desk.surveys()
    assert survey.text == desk.rt.workspace.survey.question.en


def test_resolving_again_after_a_reopen_does_not_ask_again(desk: Desk) -> None:
    case = resolved_case(desk)
    sent_at = case.survey_sent_at
    desk.staff("reopen", case_id=case.id)
    desk.staff("resolve", case_id=case.id)
    assert len(desk.surveys()) == 1
    assert load_case(desk, case.id).survey_sent_at == sent_at


def test_no_survey_when_the_workspace_does_not_ask(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk(enabled=False)
    case = resolved_case(desk)
    assert desk.surveys() == []
    assert case.status == "resolved" and case.survey_sent_at is None


def test_a_rating_is_recorded_as_the_answer_and_counts_in_satisfaction(desk: Desk) -> None:
    case = resolved_case(desk)
    answer = desk.write("4/5 merci !")
    payload, joined = stored(desk, answer)
    assert payload["metadata"]["survey_case"] == case.id and payload["rating"] == 4
    assert joined is None
    after = load_case(desk, case.id)
    assert after.status == "resolved" and after.last_event_id == case.last_event_id
    assert audits(desk, "case.survey_answer") == [{"event": answer.id, "rating": 4}]
    satisfaction = load_report(desk.rt.store, desk.rt.workspace, since="1d").kpis.satisfaction
    assert (satisfaction.survey_answers, satisfaction.survey_csat) == (1, 1.0)


def test_a_second_rating_replaces_the_first(desk: Desk) -> None:
    case = resolved_case(desk)
    first = desk.write("2")
    second = desk.write("★★★★★")
    first_payload, _ = stored(desk, first)
    second_payload, _ = stored(desk, second)
    assert "survey_case" not in first_payload["metadata"] and first_payload["rating"] is None
    assert second_payload["metadata"]["survey_case"] == case.id and second_payload["rating"] == 5
    assert load_case(desk, case.id).status == "resolved"
    satisfaction = load_report(desk.rt.store, desk.rt.workspace, since="1d").kpis.satisfaction
    assert satisfaction.survey_answers == 1


def test_any_other_message_reopens_the_case_as_before(desk: Desk) -> None:
    case = resolved_case(desk)
    follow_up = desk.write("Finalement le remplacement est cassé aussi")
    payload, joined = stored(desk, follow_up)
    assert joined == case.id and load_case(desk, case.id).status == "open"
    assert "survey_case" not in payload["metadata"]
    assert audits(desk, "case.survey_answer") == []


def test_a_rating_after_the_answer_window_is_an_ordinary_message(desk: Desk) -> None:
    case = resolved_case(desk)
    assert case.survey_sent_at is not None
    late = desk.write("5", created_at=case.survey_sent_at + timedelta(days=8))
    payload, joined = stored(desk, late)
    assert "survey_case" not in payload["metadata"] and payload["rating"] is None
    # The workspace's 30-day conversation window still holds: the customer wrote back.
    assert joined == case.id and load_case(desk, case.id).status == "open"


def test_a_rating_from_another_customer_is_not_an_answer(desk: Desk) -> None:
    resolved_case(desk)
    stranger = desk.write("4", author="someone-else")
    payload, _ = stored(desk, stranger)
    assert "survey_case" not in payload["metadata"]
