"""Staff verbs on cases through the desk, from any door: assign, take, snooze and wake, reopen,
priority, labels, escalate, open by hand, list filters; each allowed and refused."""

from __future__ import annotations

from datetime import timedelta

from bot.store.models import AuditEntry
from tests.casework.support import Harness, complaint


def data(h: Harness, case_id: int) -> dict:  # type: ignore[type-arg]
    return dict(h.run("camille", "case", case_id=case_id).data["case"])  # type: ignore[arg-type]


def test_assign_needs_a_lead_or_admin_and_respects_the_cap(h: Harness) -> None:
    ids = [h.route(complaint(author=f"c{i}"))[0] for i in range(3)]  # samir, tom, samir (cap 2)
    assert h.run("samir", "assign", case_id=ids[1], to="me").data["error"] == "over_cap"
    assert h.run("samir", "assign", case_id=ids[0], to="tom").data["error"] == "missing_role"
    same = h.run("camille", "assign", case_id=ids[0], to="samir")
    assert same.ok and "already assigned" in same.message
    assert h.run("camille", "assign", case_id=ids[0], to="tom").ok  # tom 2, samir 1
    assert h.run("camille", "assign", case_id=ids[2], to="tom").data["error"] == "over_cap"
    assert h.run("camille", "assign", case_id=ids[2], to="tom", force=True).ok
    assert h.run("samir", "take", case_id=ids[1]).ok  # taking is voluntary: no cap
    assert h.run("camille", "assign", case_id=ids[0], to="ana").data["error"] == "not_in_team"
    assert h.run("camille", "assign", case_id=ids[0], to="ghost").data["error"] == "unknown_staff"
    assert data(h, ids[1])["assignee"] == "samir"


def test_take_from_a_slack_button(h: Harness) -> None:
    case_id, _ = h.route(complaint())
    result = h.run("U0TOM", "take", door="slack", case_id=str(case_id))
    assert result.ok and data(h, case_id)["assignee"] == "tom"
    with h.store.unit() as unit:
        entry = (
            unit.session.query(AuditEntry)
            .filter_by(action="case.assigned")
            .order_by(AuditEntry.id.desc())
            .first()
        )
        assert entry is not None and (entry.actor, entry.door) == ("tom", "slack")
        assert entry.detail == {"to": "tom", "previous": "samir", "how": "take"}
    assert h.run("mo", "take", case_id=case_id).data["error"] == "missing_role"


def test_snooze_wakes_at_its_time_or_when_the_customer_writes(h: Harness) -> None:
    case_id, _ = h.route(complaint(thread="t"))
    assert h.run("samir", "snooze", case_id=case_id, **{"for": "2h"}).ok
    assert data(h, case_id)["status"] == "snoozed"
    assert h.run("samir", "snooze", case_id=case_id, until="2020-01-01T00:00").data["error"] == "bad_arg"
    h.clock.advance(timedelta(hours=2))
    assert ("snooze_wake", True) in h.fire()
    assert data(h, case_id)["status"] == "open"
    assert h.run("samir", "snooze", case_id=case_id, **{"for": "1d"}).ok
    h.route(complaint("re", thread="t"))
    assert data(h, case_id)["status"] == "open"
    h.clock.advance(timedelta(days=1))
    assert ("snooze_wake", False) in h.fire()  # stale: the customer already woke it


def test_resolve_and_reopen_allowed_and_refused(h: Harness) -> None:
    case_id, _ = h.route(complaint())
    assert h.run("samir", "reopen", case_id=case_id).data["error"] == "wrong_state"
    assert h.run("samir", "resolve", case_id=case_id).ok
    assert h.run("samir", "resolve", case_id=case_id).data["error"] == "wrong_state"
    assert h.run("samir", "snooze", case_id=case_id, **{"for": "1h"}).data["error"] == "wrong_state"
    assert h.run("samir", "take", case_id=case_id).data["error"] == "wrong_state"
    assert h.run("ana", "reopen", case_id=case_id).data["error"] == "not_in_team"
    assert h.run("samir", "reopen", case_id=case_id).ok
    reopened = data(h, case_id)
    assert reopened["status"] == "open" and reopened["sla"]["resolution"]["seq"] == 2


def test_priority_labels_escalate(h: Harness) -> None:
    case_id, _ = h.route(complaint())
    h.post_card(case_id)
    assert h.run("samir", "priority", case_id=case_id, priority="huge").data["error"] == "bad_arg"
    assert h.run("samir", "label", case_id=case_id, add="refund", remove="broken").ok
    assert data(h, case_id)["labels"] == ["after-sales", "refund"]
    escalated = h.run("samir", "escalate", case_id=case_id)
    assert escalated.ok and data(h, case_id)["priority"] == "high"
    paged = [e for e in h.kinds("page") if e.name.startswith("escalate")]
    assert paged and paged[0].params["staff"] == ["camille"]  # the lead; not the one escalating
    updates = [e for e in h.kinds("update_card") if e.subject == f"case:{case_id}"]
    assert len({e.key for e in updates}) == len(updates)  # one effect per revision
    assert updates[-1].params["ref"]["message_id"] == f"m-{case_id}-console"  # type: ignore[index, call-overload]


def test_open_by_hand_and_list_filters(h: Harness) -> None:
    event = h.store_event(complaint(author="walk-in"))
    opened = h.run("tom", "open", event_id=event.id, team="after-sales", priority="high")
    assert opened.ok
    again = h.run("tom", "open", event_id=event.id, team="after-sales")
    assert again.data["error"] == "bad_arg" and "already in case" in again.message
    assert h.run("tom", "open", event_id="ev-nope", team="after-sales").data["error"] == "unknown_event"
    other = h.store_event(complaint(author="walk-in-2"))
    assert h.run("tom", "open", event_id=other.id, team="nope").data["error"] == "unknown_team"
    mine = h.run("samir", "case", assignee="me")
    assert [c["id"] for c in mine.data["cases"]] == [opened.data["case"]["id"]]  # type: ignore[index, union-attr, call-overload]
    assert h.run("samir", "case", status="closed").data["error"] == "bad_arg"
    assert h.run("samir", "case", status="all").ok


def test_french_workspace_answers_in_french(make_harness) -> None:  # type: ignore[no-untyped-def]
    from tests.casework.support import make_workspace

    h = make_harness(make_workspace(language="fr"))
    assert h.run("samir", "case", case_id=42).message == "Aucun dossier n°42."
    case_id, _ = h.route(complaint())
    assert h.run("samir", "resolve", case_id=case_id).message == f"Dossier n°{case_id} résolu."
