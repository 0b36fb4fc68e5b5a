"""SLA clocks: warnings before a breach, escalation at and after it, hit/missed status, and timers
that became stale (reply sent, priority changed, case resolved) doing nothing. Timer handlers run
with a fake clock here; the real RQ scheduler path is tested with the queue."""

from __future__ import annotations

from datetime import timedelta

from bot.casework import sla
from bot.casework.business_hours import Calendar
from bot.workspace import SlaPolicy, WorkingHours
from tests.casework.support import T0, Harness, complaint, make_workspace


def sla_doc(h: Harness, case_id: int) -> dict:  # type: ignore[type-arg]
    return dict(h.run("camille", "case", case_id=case_id).data["case"]["sla"])  # type: ignore[arg-type]


def pages(h: Harness) -> list[tuple[str, list[str], int]]:
    seen = []
    for effect in h.kinds("page"):
        if effect.params["platform"] == "console":
            seen.append(
                (effect.name.split("@")[0], list(effect.params["staff"]), int(effect.params["level"]))
            )  # type: ignore[arg-type, call-overload]
    return seen


def deliver_first_draft(h: Harness, case_id: int) -> None:
    draft = h.run("samir", "draft", case_id=case_id, text="Nous regardons cela tout de suite.")
    draft_id = draft.data["draft"]["id"]  # type: ignore[index, call-overload]
    assert h.run("tom", "approve", draft_id=draft_id).ok
    with h.store.unit() as unit:
        h.emitted += h.desk.on_reply_delivered(unit, int(draft_id), h.clock.now, "p-1")


def test_warning_then_breach_then_escalation(h: Harness) -> None:
    case_id, _ = h.route(complaint())
    h.clock.advance(timedelta(minutes=50))  # warn_before 10m → warning at 09:50
    assert ("sla_warn", True) in h.fire()
    assert pages(h) == [("sla-first_response-warn-1", ["samir"], 0)]
    h.clock.advance(timedelta(minutes=10))
    assert ("sla_breach", True) in h.fire()
    assert pages(h)[-1] == ("sla-first_response-breach-1", ["camille", "samir"], 1)
    targets = sla_doc(h, case_id)
    assert targets["first_response"]["status"] == "missed"
    assert h.run("camille", "case", case_id=case_id).data["case"]["sla_status"] == "active_with_misses"  # type: ignore[index, call-overload]
    h.clock.advance(timedelta(hours=1))
    assert ("sla_escalate", True) in h.fire()
    assert pages(h)[-1] == ("sla-first_response-esc2-1", ["camille"], 2)  # the admins
    assert "sla_escalate" not in h.scheduler.tasks()  # the chain ends


def test_each_page_is_its_own_effect_so_it_is_sent_once(h: Harness) -> None:
    h.route(complaint())
    h.clock.advance(timedelta(hours=2))
    h.fire()
    keys = [e.key for e in h.kinds("page")]
    assert len(keys) == len(set(keys))
    # both platforms of the team channel get the page
    assert {e.params["platform"] for e in h.kinds("page")} == {"console", "slack"}


def test_a_reply_on_time_hits_and_cancels_the_timers(h: Harness) -> None:
    case_id, _ = h.route(complaint())
    h.clock.advance(timedelta(minutes=20))
    deliver_first_draft(h, case_id)
    targets = sla_doc(h, case_id)
    assert targets["first_response"]["status"] == "hit"
    assert "case-1-first_response-breach-1" in h.scheduler.cancelled
    h.clock.advance(timedelta(hours=2))
    assert h.fire() == []  # only the resolution timers are left, due tomorrow
    assert pages(h) == []  # no first-response page: it was answered


def test_a_stale_timer_does_nothing(h: Harness) -> None:
    case_id, _ = h.route(complaint())
    old = dict(h.scheduler.timers)
    h.clock.advance(timedelta(minutes=5))
    assert h.run("samir", "priority", case_id=case_id, priority="high").ok
    for key, (_at, task, args) in old.items():
        assert key in h.scheduler.cancelled
        assert h.desk.handle_timer(task, args, h.clock.now + timedelta(hours=3)) is False
    assert pages(h) == []
    assert h.desk.handle_timer("no_such_task", {}, h.clock.now) is False
    assert (
        h.desk.handle_timer("sla_breach", {"case_id": 999, "target": "first_response"}, h.clock.now) is False
    )


def test_resolving_cancels_everything(h: Harness) -> None:
    case_id, _ = h.route(complaint())
    assert h.run("samir", "resolve", case_id=case_id).ok
    targets = sla_doc(h, case_id)
    assert targets["resolution"]["status"] == "hit"
    assert targets["first_response"]["status"] == "cancelled"
    h.clock.advance(timedelta(days=2))
    assert all(ran is False for _task, ran in h.fire())


def test_next_response_clock_starts_when_the_customer_writes_back(h: Harness) -> None:
    case_id, _ = h.route(complaint(thread="t-1"))
    deliver_first_draft(h, case_id)
    h.clock.advance(timedelta(minutes=30))
    h.route(complaint("Alors ?", thread="t-1", at=h.clock.now))
    targets = sla_doc(h, case_id)
    assert targets["next_response"]["status"] == "active"
    assert targets["next_response"]["due"] == (h.clock.now + timedelta(hours=2)).isoformat()
    h.clock.advance(timedelta(hours=2))
    assert ("sla_breach", True) in h.fire()
    assert sla_doc(h, case_id)["next_response"]["status"] == "missed"


def test_business_hours_due_times_and_status() -> None:
    ws = make_workspace()
    policy = SlaPolicy(first_response=timedelta(hours=2), resolution=timedelta(hours=10))
    office = WorkingHours.model_validate({d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")})
    cal = Calendar(office, "Europe/Paris")
    friday_5pm = T0.replace(day=20, hour=16)  # Friday 17:00 Paris
    doc = sla.start(policy, friday_5pm, cal)
    assert doc["targets"]["first_response"]["due"] == T0.replace(day=23, hour=9).isoformat()  # Monday 10:00
    assert sla.status(doc) == "active"
    sla.record_response(1, doc, T0.replace(day=23, hour=8))
    assert doc["targets"]["first_response"]["status"] == "hit"
    sla.resolved(1, doc, T0.replace(day=30))
    assert sla.status(doc) == "missed"
    assert sla.policy_for(ws, "after-sales", "normal", "15m").first_response == timedelta(minutes=15)  # type: ignore[union-attr]
    assert sla.policy_for(ws, "after-sales", "low") is None
    assert sla.policy_for(ws, "after-sales", "low", "high") == ws.teams["after-sales"].sla["high"]
