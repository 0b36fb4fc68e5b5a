"""Drafts and approval: the ethics pack on every text, four eyes, one send per approval, expiry,
edits, rejections, saved replies, and the clear refusals of the desk."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from bot.store.cases import DraftRepo
from bot.store.models import AuditEntry, DraftRow
from tests.casework.support import Harness, complaint


def open_case(h: Harness, **kw: Any) -> int:
    case_id, _ = h.route(complaint(**kw))
    h.post_card(case_id)
    return case_id


def propose(
    h: Harness,
    case_id: int,
    text: str = "Bonjour, nous vous renvoyons un colis.",
    who: str = "samir",
    **args: Any,
) -> dict[str, Any]:
    result = h.run(who, "draft", case_id=case_id, text=text, **args)
    draft = result.data["draft"]
    assert isinstance(draft, dict)
    return {"ok": result.ok, "message": result.message, **draft}


def draft_row(h: Harness, draft_id: int) -> DraftRow:
    with h.store.unit() as unit:
        row = unit.session.get(DraftRow, draft_id)
        assert row is not None
        unit.session.expunge(row)
        return row


def test_propose_posts_a_card_in_the_case_thread_and_waits(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id)
    assert draft["ok"] and draft["status"] == "pending"
    assert draft["approver_roles"] == ["approver", "lead"]
    (post,) = h.kinds("post_note")
    assert post.subject == f"draft:{draft['id']}"
    assert post.params["thread"]["message_id"] == f"m-{case_id}-console"  # type: ignore[index, call-overload]
    assert [b["action"] for b in post.params["card"]["buttons"]] == ["approve", "edit", "reject"]  # type: ignore[index, union-attr, call-overload]
    assert h.kinds("deliver_reply") == []  # thread text and drafts are internal
    assert "draft_expire" in h.scheduler.tasks()
    # the ethics check saw the draft, the customer's event and the customer's language
    event_id = h.run("samir", "case", case_id=case_id).data["case"]["last_event_id"]  # type: ignore[index, call-overload]
    assert h.ethics.seen[-1] == ("Bonjour, nous vous renvoyons un colis.", event_id, "fr")


def test_an_ethics_block_stops_the_draft_with_its_reason(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id, "Quel idiot ce client")
    assert not draft["ok"]
    assert draft["status"] == "blocked" and draft["blocked_by"] == "no-idiot"
    assert "Never insult a customer." in draft["message"]
    refused = h.run("tom", "approve", draft_id=draft["id"])
    assert not refused.ok and refused.data["error"] == "wrong_state"
    assert h.kinds("deliver_reply") == []


def test_a_corrected_draft_is_approved_by_a_second_person_and_sent_once(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id, "Quel idiot ce transporteur")
    h.post_draft_cards()
    fixed = h.run("samir", "edit", draft_id=draft["id"], text="Nous sommes désolés, un colis part demain.")
    assert fixed.ok and fixed.data["draft"]["status"] == "pending"  # type: ignore[index, call-overload]
    assert h.run("tom", "approve", draft_id=draft["id"]).ok
    second = h.run("camille", "approve", draft_id=draft["id"])
    assert not second.ok and "already" in second.message and "tom" in second.message
    (deliver,) = h.kinds("deliver_reply")
    assert deliver.key == f"draft:{draft['id']}:deliver_reply"
    assert deliver.params["text"] == "Nous sommes désolés, un colis part demain."
    decided = [e for e in h.kinds("update_card") if e.subject == f"draft:{draft['id']}"][-1]
    assert decided.params["card"]["buttons"] == []  # type: ignore[index, call-overload]
    assert "Tom" in str(decided.params["card"]["footer"])  # type: ignore[index, call-overload]


def test_self_approval_is_refused(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id, who="tom")  # tom is agent and approver
    result = h.run("tom", "approve", draft_id=draft["id"])
    assert not result.ok and result.data["error"] == "self_approval"
    assert not h.run("tom", "edit_approve", draft_id=draft["id"], text="autre").ok
    assert draft_row(h, draft["id"]).status == "pending"


def test_an_agent_cannot_approve_and_a_lead_only_rule_narrows_approvers(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id, who="tom")
    refused = h.run("samir", "approve", draft_id=draft["id"])
    assert not refused.ok and refused.data["error"] == "missing_role"
    h.ethics.need_lead.add("remboursement")
    refund = propose(h, case_id, "Un remboursement intégral vous est accordé.")
    assert refund["approver_roles"] == ["lead"]
    assert h.run("tom", "approve", draft_id=refund["id"]).data["error"] == "missing_role"
    assert h.run("camille", "approve", draft_id=refund["id"]).ok


def test_double_approval_from_two_threads_sends_once(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def click(who: str) -> None:
        barrier.wait()
        results.append(h.run(who, "approve", draft_id=draft["id"]).ok)

    threads = [threading.Thread(target=click, args=(who,)) for who in ("tom", "camille")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert len(h.kinds("deliver_reply")) == 1


def test_the_conditional_update_lets_exactly_one_decision_win(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id)
    with h.store.unit() as unit:
        repo = DraftRepo(unit)
        assert repo.move(draft["id"], ("pending",), status="approved", decided_by="tom")
        assert not repo.move(draft["id"], ("pending",), status="approved", decided_by="camille")


def test_edit_and_approve_in_one_go(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id)
    result = h.run("tom", "edit_approve", draft_id=draft["id"], text="Texte corrigé par Tom.")
    assert result.ok
    row = draft_row(h, draft["id"])
    assert (row.status, row.edited_by, row.decided_by, row.text) == (
        "approved",
        "tom",
        "tom",
        "Texte corrigé par Tom.",
    )
    blocked = propose(h, case_id)
    refused = h.run("camille", "edit_approve", draft_id=blocked["id"], text="idiot")
    assert not refused.ok and draft_row(h, blocked["id"]).status == "blocked"
    assert len(h.kinds("deliver_reply")) == 1


def test_only_the_author_or_an_approver_edits(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id, who="tom")
    refused = h.run("samir", "edit", draft_id=draft["id"], text="x")
    assert refused.data["error"] == "not_author"


def test_reject_needs_a_reason_and_ends_the_draft(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id)
    assert h.run("tom", "reject", draft_id=draft["id"]).data["error"] == "missing_arg"
    result = h.run("tom", "reject", draft_id=draft["id"], reason="Trop sec")
    assert result.ok and draft_row(h, draft["id"]).reason == "Trop sec"
    assert not h.run("camille", "approve", draft_id=draft["id"]).ok
    withdrawn = propose(h, case_id)
    assert h.run("samir", "reject", draft_id=withdrawn["id"], reason="oups").ok  # the author withdraws
    with h.store.unit() as unit:
        entries = unit.session.query(AuditEntry).filter_by(action="draft.rejected").all()
        assert all("Trop sec" not in str(e.detail) for e in entries)  # no free text in the audit log


def test_pending_drafts_expire(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id)
    h.clock.advance(timedelta(hours=2))
    assert ("draft_expire", True) in h.fire()
    assert draft_row(h, draft["id"]).status == "expired"
    assert not h.run("tom", "approve", draft_id=draft["id"]).ok


def test_a_late_click_after_expiry_sends_nothing_even_if_the_timer_is_late(h: Harness) -> None:
    case_id = open_case(h)
    draft = propose(h, case_id)
    h.clock.advance(timedelta(hours=3))  # the timer has not run
    result = h.run("tom", "approve", draft_id=draft["id"])
    assert not result.ok and draft_row(h, draft["id"]).status == "expired"
    assert h.kinds("deliver_reply") == []
    assert h.desk.handle_timer("draft_expire", {"draft_id": draft["id"]}, h.clock.now) is False


def test_a_saved_reply_is_rendered_and_checked_like_any_draft(h: Harness) -> None:
    case_id = open_case(h, metadata={"order": "CMD-881"})
    result = h.run("samir", "draft", case_id=case_id, template="broken-parcel")
    assert result.ok, result.message
    text = result.data["draft"]["text"]  # type: ignore[index, call-overload]
    assert text.startswith("Bonjour M. L.,") and f"#{case_id}" in text and "Samir" in text
    assert h.ethics.seen[-1][0] == text
    missing = h.run("samir", "draft", case_id=case_id, template="order-late")
    assert missing.ok  # order comes from the event's metadata
    other = open_case(h, author="u-2")
    needs = h.run("samir", "draft", case_id=other, template="refund-confirmed")
    assert not needs.ok and needs.data["error"] == "template_needs" and "order" in needs.message
    given = h.run(
        "samir", "draft", case_id=other, template="refund-confirmed", fields=["order=A-1"], lang="en"
    )
    assert given.ok and "order A-1" in given.data["draft"]["text"]  # type: ignore[index, call-overload]
    assert h.run("samir", "draft", case_id=other, template="nope").data["error"] == "unknown_template"
    suggested = h.run("samir", "replies", case_id=case_id).data["replies"]
    assert suggested[0]["name"] == "broken-parcel" and suggested[0]["suggested"]  # type: ignore[index, call-overload]


def test_draft_from_a_thread_location(h: Harness) -> None:
    case_id = open_case(h)
    result = h.run(
        "U0SAMIR",
        "draft",
        door="slack",
        text="Réponse depuis le fil",
        location={"platform": "console", "channel": "after-sales", "thread_ts": f"m-{case_id}-console"},
    )
    assert result.ok and result.data["draft"]["case_id"] == case_id  # type: ignore[index, call-overload]
    nowhere = h.run(
        "U0SAMIR",
        "draft",
        door="slack",
        text="x",
        location={"platform": "slack", "channel": "C1", "thread_ts": "123.456"},
    )
    assert nowhere.data["error"] == "no_case_here"


def test_refusals_are_clear(h: Harness) -> None:
    case_id = open_case(h)
    assert h.run("nobody", "case").data["error"] == "unknown_actor"
    assert h.run("samir", "fly").data["error"] == "unknown_verb"
    assert h.run("samir", "approve", draft_id=999).data["error"] == "unknown_draft"
    assert h.run("samir", "draft", case_id=999, text="x").data["error"] == "unknown_case"
    assert h.run("samir", "draft", case_id="abc", text="x").data["error"] == "bad_arg"
    assert h.run("samir", "draft", case_id=case_id).data["error"] == "missing_arg"
    assert h.run("mo", "draft", case_id=case_id, text="x").data["error"] == "missing_role"
    assert h.run("ana", "draft", case_id=case_id, text="x").data["error"] == "not_in_team"
    assert h.run("U0SAMIR", "take", door="discord", case_id=case_id).data["error"] == "unknown_actor"
    drafts = h.run("mo", "drafts")
    assert drafts.ok and drafts.data["drafts"] == []
