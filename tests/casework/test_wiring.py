"""The desk inside a runtime: the entry points the worker, the applier and the timer job call, with
effects recorded in the store and handed to the effects queue; and a reply that reaches a webhook
source after one failure of its endpoint, exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.casework import wiring
from bot.events import Event, Verdict
from bot.platforms.webhook.reply import ReplyTarget, WebhookReplyChannel
from bot.ports import RetryLater, StaffCommand
from bot.store.models import CaseRow, DraftRow, EffectRow
from bot.store.unit import Store
from bot.workspace import Workspace
from tests.casework.support import (
    REPO,
    Endpoint,
    Ethics,
    FakeScheduler,
    Harness,
    complaint,
    make_workspace,
    routed,
)


@dataclass
class FakeQueue(FakeScheduler):
    enqueued: list[tuple[list[str], float]] = field(default_factory=list)

    def enqueue_effects(self, keys: list[str], delay: float = 0.0, attempt: int = 0) -> None:
        self.enqueued.append((list(keys), delay))


@dataclass
class Settings:
    rules_path: Path = REPO / "rules"


@dataclass
class Rulebook:
    ethics: Ethics

    def check_reply(self, text: str, *, event: Event | None = None, lang: str | None = None) -> Verdict:
        return self.ethics(text, event, lang)


@dataclass
class Rules:
    current: Rulebook


@dataclass
class Runtime:
    store: Store
    workspace: Workspace
    queue: FakeQueue
    rules: Rules
    settings: Settings = field(default_factory=Settings)
    team_chats: dict[str, Any] = field(default_factory=lambda: {"console": object()})


@pytest.fixture
def runtime(store: Store) -> Runtime:
    return Runtime(store, make_workspace(), FakeQueue(), Rules(Rulebook(Ethics(block={"idiot": "no"}))))


def test_the_worker_applier_and_timer_entry_points(runtime: Runtime, h: Harness) -> None:
    event = h.store_event(complaint())
    now = datetime.now().astimezone()
    with runtime.store.unit() as unit:
        row, created = wiring.open_or_attach(
            unit, event, routed(event), runtime.workspace, now, scheduler=runtime.queue
        )
        assert row is not None and created
        case_id = row.id
    assert "sla_breach" in runtime.queue.tasks()
    h.post_card(case_id)
    desk = wiring.desk_for(runtime)
    assert wiring.desk_for(runtime) is desk
    result = desk.dispatch(
        StaffCommand(
            door="console",
            actor="samir",
            verb="draft",
            args={"case_id": case_id, "template": "broken-parcel"},
        )
    )
    assert result.ok, result.message
    draft_id = int(result.data["draft"]["id"])  # type: ignore[index, call-overload]
    assert desk.dispatch(
        StaffCommand(door="console", actor="tom", verb="approve", args={"draft_id": draft_id})
    ).ok
    with runtime.store.unit() as unit:
        deliver = unit.effects.effect(f"draft:{draft_id}:deliver_reply")
        assert deliver is not None and deliver.params["event_id"] == event.id
    assert any(f"draft:{draft_id}:deliver_reply" in keys for keys, _delay in runtime.queue.enqueued)
    with runtime.store.unit() as unit:
        wiring.on_reply_delivered(runtime, unit, deliver, "gr-1")
    with runtime.store.unit() as unit:
        case = unit.session.get(CaseRow, case_id)
        assert case is not None and case.status == "pending" and case.first_response_at is not None
        recorded = [
            r.key for r in unit.session.query(EffectRow).filter(EffectRow.subject == f"case:{case_id}")
        ]
    assert any(key.startswith(f"case:{case_id}:update_card:rev") for key in recorded)
    assert runtime.queue.enqueued[-1][1] == wiring.AFTER_COMMIT_DELAY
    assert wiring.handle_timer(runtime, "draft_expire", {"draft_id": draft_id}) is False  # already sent


def test_a_reply_to_a_webhook_source_survives_a_failing_endpoint_and_is_sent_once(
    h: Harness, endpoint: Endpoint
) -> None:
    case_id, _ = h.route(complaint())
    draft_id = int(h.run("samir", "draft", case_id=case_id, text="Un colis part demain.").data["draft"]["id"])  # type: ignore[index, call-overload]
    assert h.run("tom", "approve", draft_id=draft_id).ok
    assert h.run("tom", "approve", draft_id=draft_id).ok is False
    (effect,) = h.kinds("deliver_reply")
    channel = WebhookReplyChannel({"google-reviews": ReplyTarget(endpoint.url, "k")})
    event = complaint()  # same source; the receiver keys on the idempotency key, not the text
    endpoint.script = [(502, {}, b"bad gateway")]
    with pytest.raises(RetryLater):
        channel.deliver_reply(event, str(effect.params["text"]), idempotency_key=effect.key)
    platform_id = channel.deliver_reply(event, str(effect.params["text"]), idempotency_key=effect.key)
    for _ in range(2):  # the applier's job runs twice: the second call is a no-op
        with h.store.unit() as unit:
            h.desk.on_reply_delivered(unit, draft_id, h.clock.now + timedelta(minutes=1), platform_id)
    with h.store.unit() as unit:
        draft = unit.session.get(DraftRow, draft_id)
        assert draft is not None and (draft.status, draft.platform_id) == ("sent", "r-1")
    assert {headers["Idempotency-Key"] for headers, _ in endpoint.received} == {effect.key}
