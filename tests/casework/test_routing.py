"""Routing: a routed event opens a case; the rest of its conversation joins it; round-robin with caps,
off-duty members and working hours; unassigned cases are offered again when someone can take them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.casework import assignment
from bot.store.models import AuditEntry, CaseRow, EventRow
from bot.workspace import WorkingHours
from tests.casework.support import T0, Clock, Harness, complaint, make_workspace, routed


def case_row(h: Harness, case_id: int) -> CaseRow:
    with h.store.unit() as unit:
        row = unit.session.get(CaseRow, case_id)
        assert row is not None
        unit.session.expunge(row)
        return row


def audit_actions(h: Harness, subject: str) -> list[str]:
    with h.store.unit() as unit:
        return [
            a.action
            for a in unit.session.query(AuditEntry).filter_by(subject=subject).order_by(AuditEntry.id)
        ]


def test_a_routed_complaint_opens_an_assigned_case_with_sla_timers(h: Harness) -> None:
    event = complaint()
    case_id, created = h.route(event)
    assert created
    case = case_row(h, case_id)
    assert (case.team, case.status, case.priority) == ("after-sales", "open", "normal")
    assert case.assignee == "samir"  # round-robin starts with the first on-duty agent by id
    assert case.labels == ["after-sales", "broken"]
    assert case.sla["targets"]["first_response"]["due"] == (T0 + timedelta(hours=1)).isoformat()
    assert sorted(h.scheduler.tasks()) == ["sla_breach", "sla_breach", "sla_warn", "sla_warn"]
    with h.store.unit() as unit:
        row = unit.session.get(EventRow, event.id)
        assert row is not None and row.case_id == case_id
    assert audit_actions(h, f"case:{case_id}") == ["case.opened", "case.assigned"]


def test_same_thread_and_same_author_join_one_case(h: Harness) -> None:
    first, _ = h.route(complaint(thread="t-1"))
    again, created = h.route(complaint("Toujours rien.", thread="t-1", author="u-other"))
    assert (again, created) == (first, False)
    by_author, _ = h.route(complaint(author="u-77", thread=None))
    h.clock.advance(timedelta(hours=3))
    later, created = h.route(complaint("Et alors ?", author="u-77", at=h.clock.now))
    assert (later, created) == (by_author, False)
    assert case_row(h, later).last_customer_at == h.clock.now


def test_a_redelivered_event_changes_nothing(h: Harness) -> None:
    event = complaint()
    case_id, _ = h.route(event)
    revision = case_row(h, case_id).revision
    assert h.route(event) == (case_id, False)
    assert case_row(h, case_id).revision == revision


def test_the_customer_writing_back_reopens_within_the_window_only(h: Harness) -> None:
    case_id, _ = h.route(complaint(author="u-5"))
    assert h.run("samir", "resolve", case_id=case_id).ok
    h.clock.advance(timedelta(hours=1))
    again, created = h.route(complaint("Finalement non", author="u-5", at=h.clock.now))
    assert (again, created) == (case_id, False)
    assert case_row(h, case_id).status == "open"
    assert h.run("samir", "resolve", case_id=case_id).ok
    h.clock.advance(timedelta(days=3))  # beyond the 48 h conversation window
    fresh, created = h.route(complaint("Nouveau souci", author="u-5", at=h.clock.now))
    assert created and fresh != case_id


def test_an_unrouted_event_joins_its_open_case_or_nothing(h: Harness) -> None:
    case_id, _ = h.route(complaint(author="u-9"))
    follow_up = h.store_event(complaint("merci", author="u-9"))
    unrouted = routed(follow_up).model_copy(update={"route": None})
    stranger = h.store_event(complaint("hello", author="u-nobody"))
    with h.store.unit() as unit:
        assert h.desk.route(unit, follow_up, unrouted, h.clock.now).case.id == case_id  # type: ignore[union-attr]
        assert h.desk.route(unit, stranger, unrouted, h.clock.now).case is None


def test_a_higher_priority_route_raises_the_case_priority(h: Harness) -> None:
    case_id, _ = h.route(complaint(thread="t-9"))
    h.route(complaint("URGENT", thread="t-9"), routed(complaint(), priority="high"))
    case = case_row(h, case_id)
    assert case.priority == "high"
    assert case.sla["targets"]["first_response"]["due"] == (T0 + timedelta(minutes=30)).isoformat()


def test_round_robin_respects_caps_and_off_duty_members(h: Harness) -> None:
    owners = [case_row(h, h.route(complaint(author=f"a{i}"))[0]).assignee for i in range(5)]
    # zoe is off duty; cap is 2 open cases each: samir, tom, samir, tom, then nobody
    assert owners == ["samir", "tom", "samir", "tom", None]
    assert any(task == "team_open" for task in h.scheduler.tasks())


def test_capacity_freed_by_a_resolution_is_offered_to_waiting_cases(h: Harness) -> None:
    ids = [h.route(complaint(author=f"b{i}"))[0] for i in range(5)]
    assert case_row(h, ids[4]).assignee is None
    assert h.run("samir", "resolve", case_id=ids[0]).ok
    assert case_row(h, ids[4]).assignee == "samir"


def test_cases_wait_outside_working_hours_and_are_offered_at_opening(make_harness) -> None:  # type: ignore[no-untyped-def]
    office = [(time(9), time(18))]
    ws = make_workspace()
    team = ws.teams["after-sales"].model_copy(
        update={"working_hours": WorkingHours(mon=office, tue=office, wed=office, thu=office, fri=office)}
    )
    ws = ws.model_copy(update={"teams": {**ws.teams, "after-sales": team}})
    night = datetime(2026, 11, 18, 22, tzinfo=UTC)  # 23:00 in Paris
    h = make_harness(ws, Clock(night))
    case_id, _ = h.route(complaint(at=night))
    assert case_row(h, case_id).assignee is None
    opening = datetime(2026, 11, 19, 8, tzinfo=UTC)  # 09:00 Paris
    h.clock.now = opening
    assert ("team_open", True) in h.fire()
    assert case_row(h, case_id).assignee == "samir"


def test_pick_is_pure_round_robin() -> None:
    ws = make_workspace()
    at = T0
    assert assignment.members(ws, "after-sales") == ["samir", "tom", "zoe"]
    assert assignment.pick(ws, "after-sales", at, {}, {}) == "samir"
    assert assignment.pick(ws, "after-sales", at, {}, {"samir": at}) == "tom"
    assert assignment.pick(ws, "after-sales", at, {"samir": 2}, {"tom": at}) == "tom"
    assert assignment.pick(ws, "after-sales", at, {"samir": 2, "tom": 2}, {}) is None
    assert assignment.pick(ws, "nope", at, {}, {}) is None


def test_staff_talking_in_the_customer_thread_does_not_reopen_the_case(h: Harness) -> None:
    customer = complaint(source="discord", thread="th-1", author="cust-1")
    case_id, _ = h.route(customer)
    assert h.run("samir", "resolve", case_id=case_id).ok
    staff_says = complaint(
        "On s'en occupe", source="discord", thread="th-1", author="111"
    )  # samir's Discord id
    h.store_event(staff_says)
    with h.store.unit() as unit:
        assert h.desk.route(unit, staff_says, routed(staff_says)).case is None
    assert case_row(h, case_id).status == "resolved"
