"""The case desk: the one application service behind every door (Slack, Discord, console, CLI).

    desk = CaseDesk(store, workspace, emit, scheduler, check_reply, clock=utcnow, replies=None)

Called by the worker for every customer event (inside its unit; emit `effects` after commit):
    desk.route(unit, event, verdict, now) -> Routed(case | None, created, effects)
    desk.open_or_attach(unit, event, verdict, now) -> (CaseRow, created)   same, route required
Called by the applier after a `deliver_reply` effect (inside its unit; returns effects to emit
after commit):
    desk.on_reply_delivered(unit, draft_id, at, platform_id) -> list[Effect]
    desk.on_reply_failed(unit, draft_id, error) -> list[Effect]
Called by the scheduler: desk.handle_timer(task, args, now) -> bool (False: stale, did nothing).
Called on a vigie.yaml reload: desk.reoffer_all() -> assigned case ids.

Staff commands, `desk.dispatch(StaffCommand(door, actor, verb, args))`:

verb          args                                                          who
------------  ------------------------------------------------------------  ---------------------------
case          case_id → show; else list: status (csv or "all"), team,       any staff
              assignee ("me"), unassigned, limit
open          event_id, team, priority?, labels?                            agent, lead, admin
assign        case_id, to (staff id or "me"), force? (ignore the cap)       lead, admin (to "me": agent)
take          case_id                                                       agent, lead, admin
resolve       case_id                                                       agent, lead, admin
reopen        case_id                                                       agent, lead, admin
snooze        case_id, until (ISO time) or for (duration, "4h")             agent, lead, admin
priority      case_id, priority                                             agent, lead, admin
label         case_id, add?, remove? (csv or list)                          agent, lead, admin
escalate      case_id                                                       agent, lead, admin
draft         case_id or location {platform, channel, thread_id|thread_ts}, agent, lead, admin
              text and/or template, fields? {name: value}, lang?
approve       draft_id                                                      approver roles, not author
edit          draft_id, text                                                the author, or an approver
edit_approve  draft_id, text                                                approver roles, not author
reject        draft_id, reason                                              approver roles; author withdraws
drafts        status? (default pending,blocked; "all"), case_id?, limit?    any staff
replies       case_id? (suggested from the case's labels first)             any staff

Agents act on their teams' cases only; leads and admins on every team's. Every result is a
`CommandResult(ok, message, data)`, the message in the workspace language; refusals have
`data["error"]` set to a stable key (missing_role, unknown_case, wrong_state, self_approval, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.casework import case_commands as cases
from bot.casework import delivery, routing, timers
from bot.casework import draft_commands as drafts
from bot.casework.approval import CheckReply
from bot.casework.context import Actor, Clock, Config, Emit, Outbox, Refused, Scheduler
from bot.casework.messages import say
from bot.casework.replies import SavedReplies, load_replies
from bot.events import Effect, Event, Verdict, utcnow
from bot.ports import CommandResult, StaffCommand
from bot.store.models import CaseRow
from bot.store.unit import Store, Unit
from bot.workspace import Workspace

Handler = Callable[[Unit, Config, Outbox, Actor, dict[str, Any], datetime], CommandResult]

VERBS: dict[str, Handler] = {
    "case": cases.show_or_list,
    "cases": cases.show_or_list,
    "open": cases.open_by_hand,
    "assign": cases.assign,
    "take": cases.take,
    "resolve": cases.resolve,
    "reopen": cases.reopen,
    "snooze": cases.snooze,
    "priority": cases.priority,
    "label": cases.label,
    "escalate": cases.escalate,
    "draft": drafts.propose,
    "approve": drafts.approve,
    "edit": drafts.edit,
    "edit_approve": drafts.edit_approve,
    "reject": drafts.reject,
    "drafts": drafts.list_drafts,
    "replies": drafts.saved_replies,
}


def default_replies_folder(rules_dir: Path) -> Path:
    return rules_dir / "replies"


class CaseDesk:
    def __init__(
        self,
        store: Store,
        workspace: Workspace,
        emit: Emit,
        scheduler: Scheduler,
        check_reply: CheckReply,
        clock: Clock = utcnow,
        replies: SavedReplies | None = None,
        platforms: frozenset[str] | None = None,
    ) -> None:
        self.store = store
        self.emit = emit
        self.scheduler = scheduler
        self.clock = clock
        self.config = Config(workspace, check_reply, replies or load_replies(None), platforms)

    @property
    def workspace(self) -> Workspace:
        return self.config.workspace

    # -- staff commands ---------------------------------------------------------------------------

    def dispatch(self, command: StaffCommand) -> CommandResult:
        lang = self.config.lang
        found = self.workspace.staff_by_identity(command.door, command.actor)
        if found is None:
            return _refusal(Refused("unknown_actor", actor=command.actor), lang)
        handler = VERBS.get(command.verb)
        if handler is None:
            return _refusal(Refused("unknown_verb", verb=command.verb, verbs=", ".join(VERBS)), lang)
        actor = Actor(found[0], found[1], command.door)
        out = Outbox()
        try:
            with self.store.unit() as unit:
                result = handler(unit, self.config, out, actor, dict(command.args), self.clock())
        except Refused as refusal:
            return _refusal(refusal, lang)
        out.release(self.emit, self.scheduler)
        return result

    # -- the worker -------------------------------------------------------------------------------

    def route(self, unit: Unit, event: Event, verdict: Verdict, now: datetime | None = None) -> Routed:
        """Open or join the case of a routed event (`verdict.route` set), or join the conversation's
        case when there is one (route or not; `case` is None when there is none and no route).
        Timers are scheduled at once (a timer outliving a rolled-back unit finds nothing and does
        nothing); `effects` (case card updates) are for the caller to emit after its commit."""
        out = Outbox()
        when = now or self.clock()
        case: CaseRow | None
        created = False
        if verdict.route is not None:
            case, created = routing.open_or_attach(unit, self.config, out, event, verdict, when)
        else:
            case = routing.attach(unit, self.config, out, event, when)
        self._schedule(out)
        return Routed(case, created, out.effects)

    def open_or_attach(
        self, unit: Unit, event: Event, verdict: Verdict, now: datetime | None = None
    ) -> tuple[CaseRow, bool]:
        """`route()` for an event with a route, without the card-update effects (the worker's own
        card for the event shows the case)."""
        routed = self.route(unit, event, verdict, now)
        if routed.case is None:
            raise ValueError(f"event {event.id} has no route and no open case to join")
        return routed.case, routed.created

    def _schedule(self, out: Outbox) -> None:
        for op in out.timers:
            if op.at is None:
                self.scheduler.cancel(op.key)
            else:
                self.scheduler.schedule(op.key, op.at, op.task, op.args)
        out.timers = []

    # -- the applier ------------------------------------------------------------------------------

    def on_reply_delivered(self, unit: Unit, draft_id: int, at: datetime, platform_id: str) -> list[Effect]:
        out = Outbox()
        delivery.reply_delivered(unit, self.config, out, draft_id, at, platform_id)
        return self._timers_now(out)

    def on_reply_failed(self, unit: Unit, draft_id: int, error: str) -> list[Effect]:
        out = Outbox()
        delivery.reply_failed(unit, self.config, out, draft_id, error, self.clock())
        return self._timers_now(out)

    def _timers_now(self, out: Outbox) -> list[Effect]:
        self._schedule(out)
        return out.effects

    # -- the scheduler ----------------------------------------------------------------------------

    def handle_timer(self, task: str, args: dict[str, Any], now: datetime | None = None) -> bool:
        out = Outbox()
        with self.store.unit() as unit:
            ran = timers.run(unit, self.config, out, task, args, now or self.clock())
        out.release(self.emit, self.scheduler)
        return ran

    def reoffer_all(self) -> list[int]:
        """Offer unassigned cases again (after a vigie.yaml reload put someone on duty)."""
        out = Outbox()
        assigned: list[int] = []
        now = self.clock()
        with self.store.unit() as unit:
            for team in self.workspace.teams:
                assigned += routing.reoffer(unit, self.config, out, team, now)
        out.release(self.emit, self.scheduler)
        return assigned


def _refusal(refusal: Refused, lang: str) -> CommandResult:
    return CommandResult(
        ok=False, message=say(refusal.key, lang, **refusal.values), data={"error": refusal.key}
    )


@dataclass(frozen=True)
class Routed:
    case: CaseRow | None
    created: bool
    effects: list[Effect]
