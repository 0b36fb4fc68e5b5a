"""Cards for cases and drafts (buttons per state, who decided, both languages) and saved replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.casework.cards import render_case_card, render_draft_card
from bot.casework.messages import MESSAGES, WORDS
from bot.casework.replies import ReplyError, load_replies
from bot.store.models import CaseRow, DraftRow
from tests.casework.support import REPO, complaint, make_workspace

NOW = datetime(2026, 11, 18, 9, tzinfo=UTC)


def a_case(**kw: object) -> CaseRow:
    values: dict[str, object] = dict(
        id=7,
        team="after-sales",
        status="open",
        priority="high",
        labels=["after-sales"],
        assignee=None,
        source="google-reviews",
        author_id="u",
        conversation_key="k",
        first_event_id="e",
        last_event_id="e",
        sla={"targets": {"first_response": {"due": NOW.isoformat(), "status": "active", "seq": 1}}},
        opened_at=NOW,
        updated_at=NOW,
        revision=3,
    )
    values.update(kw)
    return CaseRow(**values)


def a_draft(**kw: object) -> DraftRow:
    values: dict[str, object] = dict(
        id=4,
        case_id=7,
        reply_to_event_id="e",
        author="samir",
        text="Bonjour",
        status="pending",
        ethics={},
        approver_roles=["approver", "lead"],
        created_at=NOW,
        expires_at=NOW + timedelta(hours=2),
        revision=1,
    )
    values.update(kw)
    return DraftRow(**values)


def test_case_card_buttons_follow_the_state() -> None:
    ws = make_workspace()
    card = render_case_card(a_case(), complaint(), ("broken",), ws, "en")
    assert [b.action for b in card.buttons] == ["take", "assign", "reply", "resolve", "escalate"]
    assert card.title == "Case #7 · after-sales · high" and card.severity == "warning"
    assert ("SLA", "active · first response ≤ 2026-11-18 10:00 CET") in card.fields
    assert card.labels == ("broken", "after-sales")
    taken = render_case_card(a_case(assignee="samir"), None, (), ws, "fr")
    assert "take" not in [b.action for b in taken.buttons] and ("Responsable", "Samir") in taken.fields
    assert render_case_card(a_case(status="resolved"), None, (), ws, "en").buttons == ()


def test_draft_cards_pending_blocked_decided() -> None:
    ws = make_workspace()
    pending = render_draft_card(a_draft(), ws, "en", team="after-sales")
    assert [(b.action, b.label) for b in pending.buttons] == [
        ("approve", "Approve & send"),
        ("edit", "Edit"),
        ("reject", "Reject"),
    ]
    blocked = render_draft_card(a_draft(status="blocked", reason="No insults."), ws, "fr")
    assert [b.action for b in blocked.buttons] == ["edit"] and "No insults." in blocked.footer
    sent = render_draft_card(
        a_draft(status="sent", decided_by="tom", decided_at=NOW, delivered_at=NOW), ws, "en"
    )
    assert sent.buttons == () and sent.footer.startswith("sent by Tom")
    rejected = render_draft_card(
        a_draft(status="rejected", decided_by="camille", decided_at=NOW, reason="Trop sec"), ws, "fr"
    )
    assert (
        rejected.buttons == () and "refusé par Camille" in rejected.footer and "Trop sec" in rejected.footer
    )


def test_every_message_exists_in_both_languages() -> None:
    for key, (english, french) in {**MESSAGES, **WORDS}.items():
        assert english and french, key


def test_the_bundled_saved_replies_load_in_both_languages() -> None:
    replies = load_replies(REPO / "rules" / "replies")
    assert {"broken-parcel", "order-late", "refund-confirmed", "ask-details"} <= set(replies.by_name)
    for reply in replies.by_name.values():
        assert reply.en and reply.fr, reply.name
    names = [r.name for r in replies.suggest(["after-sales", "broken"])]
    assert names[0] == "broken-parcel"
    assert replies.suggest(["unrelated"]) == []


def test_a_bad_saved_replies_file_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("replies:\n  oops:\n    labels: [x]\n", encoding="utf-8")
    with pytest.raises(ReplyError, match=r"bad.yaml: replies.oops"):
        load_replies(tmp_path)
    (tmp_path / "bad.yaml").write_text("replies:\n  oops:\n    en: 'Hi {0}'\n", encoding="utf-8")
    with pytest.raises(ReplyError, match="plain name"):
        load_replies(tmp_path)
    assert load_replies(tmp_path / "missing").by_name == {}
