"""What every casework service shares: the desk's configuration, the outbox of effects and timers
released after the transaction commits, refusals as exceptions, and the card-update effects."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.casework.approval import CheckReply
from bot.casework.cards import render_case_card, render_draft_card
from bot.casework.messages import say
from bot.casework.replies import SavedReplies
from bot.casework.sla import TimerOp
from bot.events import Effect, Event, JsonValue
from bot.ports import Button, Card, MessageRef
from bot.store.cases import EventLookup, PostedLookup
from bot.store.models import CaseRow, DraftRow, PostedMessage
from bot.store.unit import Unit
from bot.workspace import Staff, Workspace

Emit = Callable[[Sequence[Effect]], None]
Clock = Callable[[], datetime]


class Scheduler(Protocol):
    """Timers: `schedule` replaces a pending timer with the same key; keys use [A-Za-z0-9_-] only."""

    def schedule(self, key: str, at: datetime, task: str, args: dict[str, JsonValue]) -> None: ...

    def cancel(self, key: str) -> None: ...


class Refused(Exception):
    """A staff command refused: a message key from `messages.py` and its values."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass
class Outbox:
    """Effects and timers produced in a transaction, released only after it commits, so the applier
    and the timers never see state that was rolled back."""

    effects: list[Effect] = field(default_factory=list)
    timers: list[TimerOp] = field(default_factory=list)

    def release(self, emit: Emit, scheduler: Scheduler) -> None:
        for op in self.timers:
            if op.at is None:
                scheduler.cancel(op.key)
            else:
                scheduler.schedule(op.key, op.at, op.task, op.args)
        if self.effects:
            emit(self.effects)
        self.effects = []
        self.timers = []


@dataclass(frozen=True)
class Actor:
    staff_id: str
    person: Staff
    door: str


SYSTEM = "vigie"


@dataclass(frozen=True)
class Config:
    workspace: Workspace
    check_reply: CheckReply
    replies: SavedReplies
    platforms: frozenset[str] | None = None  # team-chat platforms running; None: all vigie.yaml lists

    @property
    def lang(self) -> str:
        return self.workspace.language


def job_safe(text: str) -> str:
    """RQ job ids allow only letters, digits, `_` and `-`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def event_of(unit: Unit, event_id: str | None) -> Event | None:
    if not event_id:
        return None
    row = EventLookup(unit).get(event_id)
    if row is None:
        return None
    try:
        return Event.model_validate(row.payload)
    except ValueError:
        return None


def touch(case: CaseRow, now: datetime) -> None:
    case.revision = (case.revision or 0) + 1
    case.updated_at = now


def channel_targets(config: Config, channel: str) -> list[tuple[str, str]]:
    """Where a named team channel lives, among the platforms this deployment runs."""
    return config.workspace.channel_targets(channel, config.platforms)


def _ref(posted: PostedMessage) -> dict[str, JsonValue]:
    ref = MessageRef(
        platform=posted.platform,
        channel=posted.channel,
        message_id=posted.message_id,
        thread_id=posted.thread_id,
    )
    return ref.model_dump(mode="json")


def case_card_effects(unit: Unit, case: CaseRow, config: Config) -> list[Effect]:
    """Re-render the case's cards in place wherever they were posted; one effect per revision and card."""
    event = event_of(unit, case.first_event_id)
    card = render_case_card(case, event, (), config.workspace, config.lang).model_dump(mode="json")
    return [
        Effect(
            kind="update_card",
            subject=f"case:{case.id}",
            name=f"rev{case.revision}-{posted.id}",
            params={
                "platform": posted.platform,
                "ref": _ref(posted),
                "card": card,
                "case_id": case.id,
                "revision": case.revision,
            },
        )
        for posted in PostedLookup(unit).case_roots(case.id)
    ]


def draft_card_effects(unit: Unit, draft: DraftRow, case: CaseRow, config: Config) -> list[Effect]:
    card = render_draft_card(draft, config.workspace, config.lang, team=case.team).model_dump(mode="json")
    return [
        Effect(
            kind="update_card",
            subject=f"draft:{draft.id}",
            name=f"rev{draft.revision}-{posted.id}",
            params={
                "platform": posted.platform,
                "ref": _ref(posted),
                "card": card,
                "case_id": case.id,
                "draft_id": draft.id,
                "revision": draft.revision,
            },
        )
        for posted in PostedLookup(unit).for_subject(f"draft:{draft.id}")
    ]


def thread_targets(
    unit: Unit, case: CaseRow, config: Config
) -> list[tuple[str, str, dict[str, JsonValue] | None]]:
    """Where to post into a case's conversation: the thread of each of its cards, else its team channel."""
    roots = PostedLookup(unit).case_roots(case.id)
    if roots:
        return [(p.platform, p.channel, _ref(p)) for p in roots]
    team = config.workspace.teams.get(case.team)
    channel = team.channel if team else config.workspace.default_channel
    return [(platform, where, None) for platform, where in channel_targets(config, channel)]


def draft_post_effects(
    unit: Unit, draft: DraftRow, case: CaseRow, config: Config, name: str = "card"
) -> list[Effect]:
    """Post a draft's card in its case's thread; later changes re-render it (`draft_card_effects`)."""
    card = render_draft_card(draft, config.workspace, config.lang, team=case.team).model_dump(mode="json")
    return [
        Effect(
            kind="post_note",
            subject=f"draft:{draft.id}",
            name=f"{name}@{platform}:{channel}",
            params={
                "platform": platform,
                "channel": channel,
                "thread": thread,
                "card": card,
                "case_id": case.id,
                "draft_id": draft.id,
                "role": "draft",
            },
        )
        for platform, channel, thread in thread_targets(unit, case, config)
    ]


def page_effects(
    config: Config, case: CaseRow, name: str, staff: list[str], text: str, level: int
) -> list[Effect]:
    """Page people about a case: a card at the top of the team channel (visible, not buried in a
    thread), naming who is paged; `staff` lets each platform mention them its own way."""
    team = config.workspace.teams.get(case.team)
    channel = team.channel if team else config.workspace.default_channel
    names = [config.workspace.staff[s].name if s in config.workspace.staff else s for s in staff]
    card = Card(
        title=text,
        fields=((say("f_paged", config.lang), ", ".join(names) or "-"),),
        buttons=(Button(action="take", value=str(case.id), label=say("b_take", config.lang)),)
        if case.assignee is None
        else (),
        severity="danger" if level >= 1 else "warning",
        footer=f"case:{case.id}",
    ).model_dump(mode="json")
    return [
        Effect(
            kind="page",
            subject=f"case:{case.id}",
            name=f"{name}@{platform}:{where}",
            params={
                "platform": platform,
                "channel": where,
                "card": card,
                "case_id": case.id,
                "team": case.team,
                "staff": list(staff),
                "text": text,
                "level": level,
                "role": "page",
            },
        )
        for platform, where in channel_targets(config, channel)
    ]
