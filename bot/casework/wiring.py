"""The case desk inside a running Vigie: built from the process's runtime (store, queue, workspace,
rulebook, configured platforms), with the entry points the worker, the applier and the timer job
call. Effects are recorded in the store and handed to an effects job, as everywhere else.

Effects produced inside a caller's transaction (after a delivery, on routing) are recorded in that
same transaction and their job is enqueued a moment later, so it never runs before the commit.
Timers set by routing reach Redis after the worker's transaction commits, in one round trip."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.casework.context import Config, Outbox, Scheduler
from bot.casework.desk import CaseDesk
from bot.casework.replies import ReplyError, SavedReplies, load_replies
from bot.casework.sla import TimerOp
from bot.events import Effect, Event, Verdict, utcnow
from bot.store.models import CaseRow
from bot.store.unit import Unit
from bot.workspace import Workspace

log = logging.getLogger("vigie.casework")

AFTER_COMMIT_DELAY = 1.0  # seconds; effects recorded in a caller's transaction wait for its commit

_desks: dict[int, tuple[Any, CaseDesk]] = {}


def desk_for(runtime: Any) -> CaseDesk:
    """The desk of a runtime (`bot.runtime.Runtime`), built once per runtime."""
    cached = _desks.get(id(runtime))
    if cached is not None and cached[0] is runtime:
        return cached[1]

    def emit(effects: Sequence[Effect]) -> None:
        with runtime.store.unit() as unit:
            unit.effects.record(list(effects))
        runtime.queue.enqueue_effects([e.key for e in effects])

    def check_reply(text: str, event: Event | None, lang: str | None) -> Verdict:
        verdict: Verdict = runtime.rules.current.check_reply(text, event=event, lang=lang)
        return verdict

    desk = CaseDesk(
        runtime.store,
        runtime.workspace,
        emit,
        runtime.queue,
        check_reply,
        replies=_replies(runtime),
        platforms=frozenset(runtime.team_chats),
    )
    _desks[id(runtime)] = (runtime, desk)
    return desk


def _replies(runtime: Any) -> SavedReplies:
    try:
        return load_replies(runtime.settings.rules_path / "replies")
    except ReplyError as error:
        # Bad saved replies must not stop cases and approvals: drafting by template is unavailable.
        log.error("saved replies not loaded: %s", error)
        return SavedReplies({})


def record_in(unit: Unit, effects: Sequence[Effect], queue: Any) -> None:
    if not effects:
        return
    unit.effects.record(list(effects))
    enqueue = getattr(queue, "enqueue_effects", None)
    if enqueue is not None:
        enqueue([e.key for e in effects], delay=AFTER_COMMIT_DELAY)


def _no_check(text: str, event: Event | None, lang: str | None) -> Verdict:
    raise RuntimeError("routing does not check replies")


def open_or_attach(
    unit: Unit,
    event: Event,
    verdict: Verdict,
    workspace: Workspace,
    now: datetime,
    *,
    scheduler: Scheduler,
    effects: list[Effect] | None = None,
) -> tuple[CaseRow | None, bool]:
    """For the worker: open the case of a routed event or join its conversation's case; (None,
    False) when the event has no route and no case to join. The case's own effects (its cards
    re-rendered) go into `effects` when given, for the caller to claim and apply with the event's
    own after its commit; otherwise they are recorded and an effects job applies them."""
    from bot.casework import routing

    config = Config(workspace, _no_check, SavedReplies({}))
    out = Outbox()
    case: CaseRow | None
    created = False
    if verdict.route is not None:
        case, created = routing.open_or_attach(unit, config, out, event, verdict, now)
    else:
        case = routing.attach(unit, config, out, event, now)
    _timers_at_commit(unit, out.timers, scheduler)
    if effects is not None:
        effects.extend(out.effects)
    else:
        record_in(unit, out.effects, scheduler)
    return case, created


def _timers_at_commit(unit: Unit, ops: Sequence[TimerOp], scheduler: Scheduler) -> None:
    """Routing's timers go to Redis as the worker's transaction commits, all of the transaction's in
    one round trip (`JobQueue.timers_at_commit`), and a routing rolled back before that schedules
    nothing. A scheduler without that hook (tests' fakes) gets them at once."""
    if not ops:
        return
    later = getattr(scheduler, "timers_at_commit", None)
    if later is not None:
        later(unit.session, [(op.key, op.at, op.task, op.args) for op in ops])
        return
    for op in ops:
        if op.at is None:
            scheduler.cancel(op.key)
        else:
            scheduler.schedule(op.key, op.at, op.task, op.args)


def on_reply_delivered(runtime: Any, unit: Unit, effect: Effect, platform_id: str) -> None:
    draft_id = int(str(effect.params["draft_id"]))
    effects = desk_for(runtime).on_reply_delivered(unit, draft_id, utcnow(), platform_id)
    record_in(unit, effects, runtime.queue)


def on_reply_failed(runtime: Any, unit: Unit, effect: Effect, error: str) -> None:
    draft_id = int(str(effect.params["draft_id"]))
    effects = desk_for(runtime).on_reply_failed(unit, draft_id, error)
    record_in(unit, effects, runtime.queue)


def handle_timer(runtime: Any, task: str, args: dict[str, Any]) -> bool:
    return desk_for(runtime).handle_timer(task, dict(args), utcnow())
