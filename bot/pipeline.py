"""Processing events: load them, evaluate the rulebook, attach each to its case, plan the handlers'
effects and apply each once. Safe to run any number of times for the same event: the verdict is
computed once and reused, and effects are claimed by key before they run.

A job carries a batch of events (bot/queue.py EVENT_BATCH_MAX). The batch is cut into waves: an
event goes into a later wave than any earlier event of the same conversation or author, so it sees
that event's case, cards and sanctions exactly as if they had been processed one after the other.
Each wave is one store transaction (load, evaluate, route, plan, record and claim effects), then its
effects are applied event by event, then the wave is observed for crisis detection and marked
processed in one statement each."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.applier import AppliedLater, EffectsDeferred, apply_effects
from bot.crisis_service import forget_observed, observe_events
from bot.events import Effect, Event, Verdict, utcnow
from bot.moderation.casebook import active_points, record_automod
from bot.moderation.policy import scope_of
from bot.ports import MessageRef
from bot.runtime import Runtime
from bot.store.cases import CaseRepo
from bot.store.effects import ClaimOutcome
from bot.store.models import EventRow
from bot.store.unit import Unit
from handlers.plan import plan
from handlers.situation import CaseView, Situation

log = logging.getLogger("vigie.pipeline")


@dataclass
class BatchOutcome:
    """What happened to each event of a batch: processed, already or missing; `deferred` holds the
    events whose effects a platform asked to wait for, with the wait in seconds."""

    outcomes: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, float] = field(default_factory=dict)


@dataclass
class _Planned:
    event: Event
    verdict: Verdict
    effects: list[Effect]
    already: bool


def evaluate(runtime: Runtime, event: Event) -> Verdict:
    """The rulebook's verdict on an event, computed outside any store transaction (it is the bulk of
    an event's CPU, and on SQLite a write transaction holds the only write lock)."""
    staff = runtime.workspace.staff_by_identity(event.source, event.author.id)
    now = utcnow()

    def strikes() -> int:
        # Prior strikes are the member's warning points still counting in the moderation casebook;
        # read only if a rule's other conditions held and it asks.
        with runtime.store.unit(read_only=True) as unit:
            return active_points(unit, scope_of(event), event.author.id, now)

    return runtime.rules.current.evaluate(
        event,
        counter=runtime.counter,
        strikes=strikes,
        author_is_staff=staff is not None,
        # Language and sentiment for every event: the KPIs (satisfaction, negative share) need them.
        signals=True,
    )


def route(
    runtime: Runtime, unit: Unit, event: Event, verdict: Verdict, effects: list[Effect]
) -> CaseView | None:
    """Attach the event to its case (opening one when routed); the case's own effects (its cards
    re-rendered) are added to `effects`, applied with the event's."""
    from bot.casework.survey_flow import record_answer
    from bot.routing import attach_case

    # A rating answering a resolved case's survey belongs to that case's KPI, not to its
    # conversation: routing it would reopen the case (or open a new one).
    if record_answer(unit, runtime.workspace, event, utcnow()) is not None:
        return None
    return attach_case(runtime, unit, event, verdict, effects)


def case_threads(unit: Unit, case: CaseView | None) -> dict[tuple[str, str], MessageRef]:
    if case is None or case.created:
        return {}
    threads: dict[tuple[str, str], MessageRef] = {}
    for posted in unit.effects.case_cards(case.id):
        threads.setdefault(
            (posted.platform, posted.channel),
            MessageRef(platform=posted.platform, channel=posted.channel, message_id=posted.message_id),
        )
    return threads


def process_event(runtime: Runtime, event_id: str, worker: str) -> str:
    """One event; returns processed, missing or already. Raises EffectsDeferred when a platform
    asked to wait (the caller reschedules the event)."""
    done = process_events(runtime, [event_id], worker)
    if event_id in done.deferred:
        raise EffectsDeferred(done.deferred[event_id], [])
    return done.outcomes[event_id]


def process_events(runtime: Runtime, event_ids: Sequence[str], worker: str) -> BatchOutcome:
    """A batch of events, wave by wave (see the module's docstring)."""
    done = BatchOutcome()
    with runtime.store.unit(read_only=True) as unit:
        rows = unit.events.get_many(event_ids)
    for event_id in event_ids:
        if event_id not in rows:
            log.warning("event %s is not in the store", event_id)
            done.outcomes[event_id] = "missing"
    for wave in waves([rows[event_id] for event_id in dict.fromkeys(event_ids) if event_id in rows]):
        _process_wave(runtime, [row.id for row in wave], worker, done)
    return done


def waves(rows: Sequence[EventRow]) -> list[list[EventRow]]:
    """Order-preserving waves: each event lands one wave after the last earlier event that shares
    its conversation or its author (those may open, join or sanction what it depends on)."""
    result: list[list[EventRow]] = []
    last_wave: dict[tuple[str, ...], int] = {}
    for row in rows:
        keys = [("conversation", row.conversation_key), ("author", row.source, row.author_id)]
        wave = max((last_wave[key] + 1 for key in keys if key in last_wave), default=0)
        if wave == len(result):
            result.append([])
        result[wave].append(row)
        for key in keys:
            last_wave[key] = wave
    return result


def _process_wave(runtime: Runtime, event_ids: list[str], worker: str, done: BatchOutcome) -> None:
    with runtime.store.unit(read_only=True) as unit:
        stored = unit.events.verdicts(event_ids)
        rows = unit.events.get_many(event_ids)
    fresh_verdicts = {
        event_id: evaluate(runtime, Event.model_validate(row.payload))
        for event_id, row in rows.items()
        if event_id not in stored
    }
    planned: list[_Planned] = []
    with runtime.store.unit() as unit:
        # Read again inside the write transaction: an earlier wave, or another worker, may have
        # processed some of these meanwhile (then its stored verdict wins over ours).
        rows = unit.events.get_many(event_ids)
        stored = unit.events.verdicts(event_ids)
        first_verdicts = {
            event_id: fresh_verdicts.get(event_id) or evaluate(runtime, Event.model_validate(row.payload))
            for event_id, row in rows.items()
            if event_id not in stored
        }
        unit.events.save_verdicts(list(first_verdicts.values()))  # the wave's, in one statement
        # Routing looks up each new event's conversation case: one query for the wave (a wave has
        # one event per conversation at most, so what is read cannot change before its turn).
        CaseRepo(unit).prefetch_conversations(rows[event_id].conversation_key for event_id in first_verdicts)
        for event_id in event_ids:
            row = rows.get(event_id)
            if row is None:
                done.outcomes[event_id] = "missing"
                continue
            if event_id in first_verdicts:
                planned.append(_plan_event(runtime, unit, row, first_verdicts[event_id], new=True))
            else:
                planned.append(_plan_event(runtime, unit, row, stored[event_id], new=False))
        effects = [effect for item in planned for effect in item.effects]
        # Recorded and claimed in this same transaction: one write (and, on SQLite, one wait for
        # the write lock) for the whole wave.
        claims: dict[str, ClaimOutcome] = (
            unit.effects.claim(effects, worker, alive=runtime.queue.worker_alive) if effects else {}
        )
    finished: list[_Planned] = []
    later = AppliedLater(worker, events={item.event.id: item.event for item in planned})
    try:
        for item in planned:
            try:
                apply_effects(runtime, item.effects, worker, claims=claims, later=later)
            except EffectsDeferred as deferred:
                done.deferred[item.event.id] = deferred.seconds
                # An effect two events of the wave share (a case's card) is the first one's to apply.
                claims.update((effect.key, "busy") for effect in item.effects)
                continue
            claims.update((effect.key, "done") for effect in item.effects)
            finished.append(item)
            done.outcomes[item.event.id] = "already" if item.already else "processed"
    except BaseException:
        later.record(runtime)  # what did reach the platform is recorded before the failure goes on
        raise
    fresh = [item for item in finished if not item.already]
    if fresh:
        # Every event feeds spike detection (volume and negative share), outside the store
        # transaction (SQLite's write lock); a marker in Redis keeps it once per event on re-runs.
        observe_events(runtime, [(item.event, item.verdict) for item in fresh])
    with runtime.store.unit() as unit:
        later.record_in(runtime, unit)
        unit.events.mark_processed([item.event.id for item in fresh])
    if fresh:
        forget_observed(runtime, [item.event.id for item in fresh])


def _plan_event(runtime: Runtime, unit: Unit, row: EventRow, verdict: Verdict, *, new: bool) -> _Planned:
    """Route (when the verdict is `new`, i.e. the event's first run, its verdict just saved) and plan
    one event's effects."""
    already = row.status == "processed"
    event = Event.model_validate(row.payload)
    case_effects: list[Effect] = []
    if new:
        case = route(runtime, unit, event, verdict, case_effects)
    else:
        case = _case_view(runtime, unit, row.case_id)
        if case is not None:
            # A first run that died after its commit left the case's own effects claimed, not applied.
            case_effects = unit.effects.unfinished(f"case:{case.id}")
    situation = Situation(
        event=event,
        verdict=verdict,
        workspace=runtime.workspace,
        platforms=frozenset(runtime.team_chats),
        case=case,
        case_threads=case_threads(unit, case),
    )
    effects: list[Effect] = [*plan(situation), *case_effects]
    if event.metadata.get("automod"):
        # Discord's own AutoMod acted: its action becomes a numbered case, like Vigie's.
        recorded = record_automod(unit, event, utcnow(), config=runtime.workspace.moderation)
        if recorded is not None:
            effects.extend(recorded.escalations)
    return _Planned(event=event, verdict=verdict, effects=effects, already=already)


def _case_view(runtime: Runtime, unit: Unit, case_id: int | None) -> CaseView | None:
    if case_id is None:
        return None
    from bot.routing import case_view

    return case_view(unit, case_id, created=False)
