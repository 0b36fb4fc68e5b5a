"""Processing one event: load it, evaluate the rulebook, attach it to its case, plan the handlers'
effects and apply each once. Safe to run any number of times for the same event: the verdict is
computed once and reused, and effects are claimed by key before they run."""

from __future__ import annotations

import logging

from bot.applier import apply_effects
from bot.crisis_service import observe_event
from bot.events import Effect, Event, Verdict, utcnow
from bot.moderation.casebook import active_points, record_automod
from bot.moderation.policy import scope_of
from bot.ports import MessageRef
from bot.runtime import Runtime
from bot.store.unit import Unit
from handlers.plan import plan
from handlers.situation import CaseView, Situation

log = logging.getLogger("vigie.pipeline")


def evaluate(runtime: Runtime, unit: Unit, event: Event) -> Verdict:
    staff = runtime.workspace.staff_by_identity(event.source, event.author.id)
    # Prior strikes are the member's warning points still counting in the moderation casebook.
    strikes = active_points(unit, scope_of(event), event.author.id, utcnow())
    return runtime.rules.current.evaluate(
        event,
        counter=runtime.counter,
        strikes=strikes,
        author_is_staff=staff is not None,
        # Language and sentiment for every event: the KPIs (satisfaction, negative share) need them.
        signals=True,
    )


def route(runtime: Runtime, unit: Unit, event: Event, verdict: Verdict) -> CaseView | None:
    from bot.casework.survey_flow import record_answer
    from bot.routing import attach_case

    # A rating answering a resolved case's survey belongs to that case's KPI, not to its
    # conversation: routing it would reopen the case (or open a new one).
    if record_answer(unit, runtime.workspace, event, utcnow()) is not None:
        return None
    return attach_case(runtime, unit, event, verdict)


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
    """Returns what happened: processed, missing or already."""
    with runtime.store.unit() as unit:
        row = unit.events.get(event_id)
        if row is None:
            log.warning("event %s is not in the store", event_id)
            return "missing"
        already = row.status == "processed"
        event = Event.model_validate(row.payload)
        verdict = unit.events.verdict(event_id)
        if verdict is None:
            verdict = evaluate(runtime, unit, event)
            unit.events.save_verdict(verdict)
            case = route(runtime, unit, event, verdict)
        else:
            case = _case_view(runtime, unit, row.case_id)
        situation = Situation(
            event=event,
            verdict=verdict,
            workspace=runtime.workspace,
            platforms=frozenset(runtime.team_chats),
            case=case,
            case_threads=case_threads(unit, case),
        )
        effects: list[Effect] = plan(situation)
        if event.metadata.get("automod"):
            # Discord's own AutoMod acted: its action becomes a numbered case, like Vigie's.
            recorded = record_automod(unit, event, utcnow(), config=runtime.workspace.moderation)
            if recorded is not None:
                effects.extend(recorded.escalations)
        # Recorded and claimed in this same transaction: one write (and, on SQLite, one wait for
        # the write lock) fewer per event than recording here and claiming in apply_effects.
        claims = unit.effects.claim(effects, worker, alive=runtime.queue.worker_alive) if effects else {}
    apply_effects(runtime, effects, worker, claims=claims)
    if not already:
        # Every event feeds spike detection (volume and negative share), outside the store
        # transaction (SQLite's write lock); a marker in Redis keeps it once per event on re-runs.
        observe_event(runtime, event, verdict)
        with runtime.store.unit() as unit:
            unit.events.mark_processed(event_id)
    return "already" if already else "processed"


def _case_view(runtime: Runtime, unit: Unit, case_id: int | None) -> CaseView | None:
    if case_id is None:
        return None
    from bot.routing import case_view

    return case_view(unit, case_id, created=False)
