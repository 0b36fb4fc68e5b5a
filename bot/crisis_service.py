"""Crisis detection and escalation inside a running Vigie: the pure core (`bot/crisis`) wired to the
store, Redis, the scheduler and the team channels.

    observe_events(runtime, [(event, verdict), …])  every event, after its verdict (the pipeline's
                                               hook; observe_event for one)
    record_signal(runtime, effect)             the applier's `signal` effect (bot/crisis_link.py)
    handle_crisis_timer(runtime, task, args)   `crisis_advance`, `crisis_digest` (bot/timers.py)
    dispatch_crisis(runtime, command)          ack, resolve, silence, oncall from any door

Detector state lives in Redis (bot/store/crisis_state.py), incidents and their timelines in SQL
(bot/store/incidents.py). One card per incident in the `crisis` team channel, re-rendered in place;
pages are separate messages only when someone must be pinged, never on resolve. See docs/crisis.md.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.applier import EffectsDeferred, apply_effects
from bot.crisis.escalation import (
    EscalationState,
    Notification,
    acknowledge,
    advance,
    escalate_again,
    resolve,
    silence,
    start,
)
from bot.crisis.incidents import Decision, Incident, Lang, decide, summary, title, with_event
from bot.crisis.policy import CrisisConfig, Policy, PolicyError, parse_crisis_config
from bot.crisis.signals import EventFacts, ScopeState, Signal, SignalEngine, facts_from_verdict
from bot.durations import parse_duration
from bot.events import Effect, Event, JsonValue, Verdict, utcnow
from bot.ports import Button, Card, CommandResult, MessageRef, StaffCommand
from bot.queue import worker_name
from bot.runtime import Runtime
from bot.store.crisis_state import CrisisStateStore
from bot.store.incidents import IncidentRepo
from bot.store.models import IncidentRow, PostedMessage
from bot.store.unit import Unit
from bot.workspace import Staff, Workspace

log = logging.getLogger("vigie.crisis")

CRISIS_CHANNEL = "crisis"  # the named team channel of incident cards (vigie.yaml `channels:`)
ADVANCE_TASK = "crisis_advance"
DIGEST_TASK = "crisis_digest"
REFRESH_TASK = "crisis_refresh"
TASKS = (ADVANCE_TASK, DIGEST_TASK, REFRESH_TASK)
# RQ's scheduler stores times in whole seconds and polls every second, so a step can run up to ~1 s
# before its `wake_at`; within this slack the step counts as due instead of being rescheduled.
SCHEDULER_SLACK = timedelta(seconds=2)
# A plain event joining an incident re-renders its card at most this often: chat.update is rate
# limited, and the count on the card is not worth a 429.
CARD_REFRESH = timedelta(seconds=30)
DEFAULT_SILENCE = timedelta(hours=1)  # what the card's Silence button holds
MAX_SILENCE = timedelta(days=7)  # longer than this is resolving, not silencing
ACK_ROLES = frozenset({"approver", "lead", "admin", "moderator"})
RESOLVE_ROLES = frozenset({"lead", "admin"})


# -- configuration -------------------------------------------------------------------------------


class RoomSpec(BaseModel):
    """`room:` on a policy: mirror the incident's events into the thread of its card."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_minute: int = Field(
        default=6, ge=1, description="Above this many events a minute, one digest line per minute instead."
    )


@dataclass(frozen=True)
class Wiring:
    config: CrisisConfig
    rooms: dict[str, RoomSpec] = field(default_factory=dict)

    @property
    def timezone(self) -> str:
        return self.config.detection.spike.timezone


def load_wiring(path: Path) -> Wiring:
    """rules/escalation.yaml, with the `room:` key of each policy read here: the pure core's schema
    does not know rooms, so their text is blanked (lines kept) before it validates the rest."""
    if path.is_dir():
        path = path / "escalation.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read: {error.strerror}") from error
    rooms: dict[str, RoomSpec] = {}
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return Wiring(parse_crisis_config(text, str(path)))  # the core reports the YAML error
    spans: list[tuple[int, int]] = []
    policies = _child(tree, "policies")
    if isinstance(policies, yaml.SequenceNode):
        for node in policies.value:
            if not isinstance(node, yaml.MappingNode):
                continue
            for key, value in node.value:
                if key.value != "room":
                    continue
                spans.append((key.start_mark.index, value.end_mark.index))
                ident = _child(node, "id")
                raw = yaml.safe_load(text[value.start_mark.index : value.end_mark.index])
                if raw is False or raw is None:
                    continue
                try:
                    spec = RoomSpec.model_validate({} if raw is True else raw)
                except ValidationError as error:
                    first = error.errors()[0]
                    where = ".".join(str(p) for p in first["loc"]) or "room"
                    raise PolicyError(
                        f"{path}:{key.start_mark.line + 1}: room.{where}: {first['msg']}"
                    ) from None
                if isinstance(ident, yaml.ScalarNode):
                    rooms[str(ident.value)] = spec
    for begin, end in sorted(spans, reverse=True):
        text = text[:begin] + "".join(ch if ch == "\n" else " " for ch in text[begin:end]) + text[end:]
    return Wiring(parse_crisis_config(text, str(path)), rooms)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if k.value == key), None)


_wirings: dict[int, tuple[Runtime, Path, float, Wiring | None]] = {}


def crisis_wiring(runtime: Runtime) -> Wiring | None:
    """The runtime's escalation file, reloaded when it changes. A bad file keeps the last good one
    (bad rules never replace good ones); with none, crisis detection is off and says so in the log."""
    path = Path(runtime.settings.rules_path) / "escalation.yaml"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    cached = _wirings.get(id(runtime))
    if cached is not None and cached[0] is runtime and cached[1] == path and cached[2] == mtime:
        return cached[3]
    previous = cached[3] if cached is not None and cached[0] is runtime else None
    try:
        wiring: Wiring | None = load_wiring(path)
    except PolicyError as error:
        log.error(
            "crisis escalation file refused, %s: %s",
            "keeping the last good one" if previous else "detection off",
            error,
        )
        wiring = previous
    _wirings[id(runtime)] = (runtime, path, mtime, wiring)
    return wiring


# -- texts ---------------------------------------------------------------------------------------

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "status": "Status",
        "open": "Open: paging",
        "open_done": "Open",
        "acknowledged": "Acknowledged by {who} at {at}",
        "resolved": "Resolved by {who} at {at}",
        "silenced": "Paging silenced until {at}",
        "severity": "Severity",
        "policy": "Policy",
        "b_ack": "Acknowledge",
        "b_silence": "Silence 1h",
        "b_resolve": "Resolve",
        "page_title": "🚨 {title}",
        "paging": "Paging {people}.",
        "reminder": "Still not acknowledged.",
        "room_event": "{source} · {kind}",
        "digest_title": "{n} more event(s) in the last minute",
        "digest_text": "{negative} negative. Sources: {sources}.",
        "no_staff": "You are not a staff member of this workspace.",
        "no_role": "Only {roles} may {verb} an incident.",
        "no_incident": "No incident {id}.",
        "no_live": "No open incident.",
        "is_resolved": "Incident {id} is already resolved.",
        "acked": "Incident {id} acknowledged: paging stopped.",
        "already_acked": "Incident {id} was already acknowledged by {who}.",
        "resolved_ok": "Incident {id} resolved.",
        "silenced_ok": "Incident {id}: paging silenced until {at}.",
        "bad_until": "Cannot read {value!r}: give a duration (30m, 2h) or an ISO time.",
        "bad_span": "Silence for between one minute and {max} days.",
        "unknown_verb": "Unknown crisis command {verb}: ack, resolve, silence, oncall.",
        "oncall_none": "Nobody would be paged: no escalation policy is loaded.",
        "oncall_head": "Who a new incident pages, per policy:",
    },
    "fr": {
        "status": "Statut",
        "open": "Ouvert : appels en cours",
        "open_done": "Ouvert",
        "acknowledged": "Pris en charge par {who} à {at}",
        "resolved": "Résolu par {who} à {at}",
        "silenced": "Appels suspendus jusqu'à {at}",
        "severity": "Gravité",
        "policy": "Politique",
        "b_ack": "Prendre en charge",
        "b_silence": "Silence 1 h",
        "b_resolve": "Résoudre",
        "page_title": "🚨 {title}",
        "paging": "Appel : {people}.",
        "reminder": "Toujours pas pris en charge.",
        "room_event": "{source} · {kind}",
        "digest_title": "{n} autre(s) événement(s) dans la dernière minute",
        "digest_text": "{negative} négatif(s). Sources : {sources}.",
        "no_staff": "Vous ne faites pas partie de l'équipe de cet espace.",
        "no_role": "Seuls {roles} peuvent {verb} un incident.",
        "no_incident": "Aucun incident {id}.",
        "no_live": "Aucun incident ouvert.",
        "is_resolved": "L'incident {id} est déjà résolu.",
        "acked": "Incident {id} pris en charge : les appels s'arrêtent.",
        "already_acked": "L'incident {id} était déjà pris en charge par {who}.",
        "resolved_ok": "Incident {id} résolu.",
        "silenced_ok": "Incident {id} : appels suspendus jusqu'à {at}.",
        "bad_until": "Impossible de lire {value!r} : donnez une durée (30m, 2h) ou une heure ISO.",
        "bad_span": "Silence d'une minute à {max} jours.",
        "unknown_verb": "Commande de crise inconnue {verb} : ack, resolve, silence, oncall.",
        "oncall_none": "Personne ne serait appelé : aucune politique d'escalade chargée.",
        "oncall_head": "Qui un nouvel incident appelle, par politique :",
    },
}
_VERBS = {
    "en": {"ack": "acknowledge", "resolve": "resolve", "silence": "silence"},
    "fr": {"ack": "prendre en charge", "resolve": "résoudre", "silence": "suspendre"},
}


def say(key: str, lang: str, **values: Any) -> str:
    table = _TEXTS.get(lang, _TEXTS["en"])
    return table.get(key, _TEXTS["en"][key]).format(**values)


def _lang(workspace: Workspace) -> Lang:
    return "fr" if workspace.language == "fr" else "en"


def _clock(at: datetime, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


# -- effects and timers, released after the transaction commits ---------------------------------


@dataclass
class Outbox:
    effects: list[Effect] = field(default_factory=list)
    timers: list[tuple[str, datetime | None, str, dict[str, Any]]] = field(default_factory=list)

    def schedule(self, incident_id: str, at: datetime | None) -> None:
        self.timers.append((f"crisis:{incident_id}", at, ADVANCE_TASK, {"incident_id": incident_id}))

    def release(self, runtime: Runtime, *, now: bool) -> None:
        """`now`: apply the effects in this process (the worker, which is already a job); else record
        them and leave them to an effects job (a button click or the CLI must answer at once)."""
        for key, at, task, args in self.timers:
            if at is None:
                runtime.queue.cancel(key)
            else:
                runtime.queue.schedule(key, at, task, args)
        effects, self.effects, self.timers = self.effects, [], []
        if not effects:
            return
        if not now:
            with runtime.store.unit() as unit:
                unit.effects.record(effects)
            runtime.queue.enqueue_effects([e.key for e in effects])
            return
        try:
            apply_effects(runtime, effects, worker_name())
        except EffectsDeferred as deferred:
            runtime.queue.enqueue_effects(deferred.keys, delay=deferred.seconds, attempt=1)


# -- detection: the pipeline's hook --------------------------------------------------------------


_engines: dict[int, tuple[CrisisConfig, SignalEngine]] = {}


def _engine(wiring: Wiring) -> SignalEngine:
    cached = _engines.get(id(wiring.config))
    if cached is not None and cached[0] is wiring.config:
        return cached[1]
    engine = SignalEngine(wiring.config.detection)
    _engines[id(wiring.config)] = (wiring.config, engine)
    return engine


# An event's marker holds its signals (JSON), prefixed with this once its incident decisions are made,
# so a later run of its job makes none: decided again after an incident had opened, an event that came
# before the incident would join it. Most events are decided when observed (nothing to decide, or a
# negative event of a brand with no incident), the others once their decisions are made.
DECIDED = "d"


@dataclass(frozen=True)
class Observation:
    """What observing one event gave: its signals (the stored ones when it was observed before),
    whether this call counted it, and the incidents this call opened, joined or added it to."""

    event_id: str
    signals: tuple[Signal, ...] = ()
    fresh: bool = False
    incidents: tuple[str, ...] = ()


def observe_event(runtime: Runtime, event: Event, verdict: Verdict) -> None:
    """Feed one event to crisis detection, then open, join or add to its brand's incident: the
    one-event case of `observe_events`."""
    observe_events(runtime, [(event, verdict)])


def _related(facts: EventFacts, signals: Sequence[Signal] = ()) -> bool:
    """Whether an event may open, join or add to an incident of its brand."""
    return bool(signals) or facts.negative or facts.crisis_weight > 0 or "crisis" in facts.labels


def forget_observed(runtime: Runtime, event_ids: Sequence[str]) -> None:
    """The events are marked processed: their once-only markers have served (see
    `CrisisStateStore.forget`). Best effort: a marker left behind expires by itself."""
    try:
        CrisisStateStore(runtime.redis.client).forget(event_ids)
    except ConnectionError as error:
        log.warning("crisis markers of %d event(s) left to expire: %s", len(event_ids), error)


def observe_events(runtime: Runtime, items: Sequence[tuple[Event, Verdict]]) -> list[Observation]:
    """Feed a batch of events to crisis detection, in order, then open, join or add to their brands'
    incidents; one `Observation` per item, in order.

    Every event counts (volume and negative share need the quiet ones too). The detector state,
    signals and incidents are those of observing the items one by one in this order: the batch's
    scope states are read once, folded through the detector event by event, and stored with every
    event's marker in one compare-and-set (bot/store/crisis_state.py); then incident decisions are
    made event by event, in order. Ordinary traffic (no signal, no live incident) costs two Redis
    round trips per batch, and one SQL query when some events are negative or carry crisis weight;
    a batch with decisions to make costs a third round trip, recording them.

    Once per event, whoever calls: an event already observed (by an earlier run, another worker's
    overlapping batch, or earlier in this batch) is not counted again and gets its stored signals;
    an event whose decisions were made is not decided again, so calling again with the same batch
    changes nothing. If a decision fails, the events decided so far are recorded, and calling again
    with the batch decides the rest."""
    wiring = crisis_wiring(runtime)
    if wiring is None or not items:
        return [Observation(event.id) for event, _verdict in items]
    engine = _engine(wiring)
    negative = wiring.config.detection.negative_sentiment
    facts = [facts_from_verdict(event, verdict, negative_sentiment=negative) for event, verdict in items]
    keyed = [(item.event_id, engine.scopes(item)) for item in facts]
    homes = [engine.brand_scope(item) for item in facts]
    first: dict[str, int] = {}  # event id → its first position: a later one is a repeat
    for index, item in enumerate(facts):
        first.setdefault(item.event_id, index)
    # Brands with a live incident, for the events that may join one without signals of their own:
    # asked once for the batch, before observing, so most such events are decided when stored.
    live: dict[str, bool] = {}
    ask = {home for home, item in zip(homes, facts, strict=True) if _related(item)}
    if ask:
        with runtime.store.unit(read_only=True) as unit:
            found = {row.scope for row in IncidentRepo(unit).live(ask)}
        live = {home: home in found for home in ask}

    def compute(current: Mapping[str, str | None], fresh: Sequence[int]) -> tuple[dict[str, str], list[str]]:
        states: dict[str, ScopeState] = {}
        results: list[str] = []
        # Brands where an incident is live or may be by an event's turn: opened by an earlier event's
        # signals, or by the decisions still to make for an event observed before (not fresh).
        hot = {home for home, is_live in live.items() if is_live}
        hot.update(homes[index] for index in set(first.values()).difference(fresh))
        for index in fresh:
            mine = {}
            for scope in keyed[index][1]:
                if scope not in states:
                    raw = current.get(scope)
                    states[scope] = ScopeState.from_json(raw) if raw else ScopeState()
                mine[scope] = states[scope]
            signals, new = engine.observe(facts[index], mine)
            states.update(new)
            text = json.dumps([s.model_dump(mode="json") for s in signals]) if signals else "[]"
            if signals:
                hot.add(homes[index])
            undecided = bool(signals) or (_related(facts[index]) and homes[index] in hot)
            results.append(text if undecided else DECIDED + text)
        return {scope: state.to_json() for scope, state in states.items()}, results

    store = CrisisStateStore(runtime.redis.client)
    stored = store.observe_many(keyed, compute)
    signals: list[tuple[Signal, ...]] = []
    pending: list[bool] = []  # decisions to make here: not decided yet, related, first in the batch
    for index, ((result, _fresh), item) in enumerate(zip(stored, facts, strict=True)):
        decided = result.startswith(DECIDED)
        text = result[len(DECIDED) :] if decided else result
        signals.append(tuple(Signal.model_validate(x) for x in json.loads(text)) if text != "[]" else ())
        pending.append(not decided and first[item.event_id] == index and _related(item, signals[index]))
    touched: dict[int, list[str]] = {}
    settled: dict[str, str] = {}
    try:
        for index, ((event, _verdict), item) in enumerate(zip(items, facts, strict=True)):
            if not pending[index]:
                continue
            home = homes[index]
            if not signals[index] and home not in live:
                with runtime.store.unit() as unit:
                    live[home] = bool(IncidentRepo(unit).live([home]))
            if signals[index] or live[home]:
                touched[index] = process_signals(
                    runtime, event, item, signals[index], wiring=wiring, scope=home
                )
                # What it decided may have opened an incident: known live, else asked again.
                if touched[index]:
                    live[home] = True
                else:
                    live.pop(home, None)
            settled[event.id] = DECIDED + stored[index][0]
    finally:
        store.settle(settled)
    return [
        Observation(event.id, signals[index], stored[index][1], tuple(touched.get(index, ())))
        for index, (event, _verdict) in enumerate(items)
    ]


def process_signals(
    runtime: Runtime,
    event: Event,
    facts: EventFacts,
    signals: Sequence[Signal],
    *,
    wiring: Wiring | None = None,
    scope: str | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Decide on one event's signals under its scope's lock; return the incidents it touched."""
    wiring = wiring or crisis_wiring(runtime)
    if wiring is None:
        return []
    home = scope or _engine(wiring).brand_scope(facts)
    out = Outbox()
    touched: list[str] = []
    now = now or utcnow()
    with CrisisStateStore(runtime.redis.client).lock(home), runtime.store.unit() as unit:
        repo = IncidentRepo(unit)
        scopes = {signal.incident_scope for signal in signals} | {home}
        rows = {row.scope: row for row in repo.live(scopes)}
        current = [_incident(row) for row in rows.values()]
        decisions = decide(signals, current, wiring.config.detection) if signals else []
        for decision in decisions:
            row = rows.get(decision.incident.scope)
            if decision.action == "open":
                opened = _open(runtime, unit, wiring, decision, event, facts, out, now)
                if opened:
                    touched.append(decision.incident.id)
            elif row is not None and _join(runtime, unit, wiring, row, decision, event, facts, out, now):
                touched.append(row.id)
        row = rows.get(home)
        joined = row is None or row.id in touched or any(d.incident.scope == home for d in decisions)
        if row is not None and not joined and _add_event(runtime, unit, wiring, row, event, facts, out, now):
            touched.append(row.id)
    out.release(runtime, now=True)
    return touched


def _incident(row: IncidentRow) -> Incident:
    return Incident.model_validate({**row.data, "status": row.status, "severity": row.severity})


def _event_entry(event: Event, facts: EventFacts, now: datetime) -> dict[str, Any]:
    return {
        "key": f"event:{event.id}",
        "kind": "event",
        "at": event.created_at,
        "recorded_at": now,
        "event_id": event.id,
        "signal": None,
        "strength": 0.0,
        "detail": {"source": event.source, "kind": event.kind, "negative": facts.negative},
        "mirror": "",
    }


def _signal_entries(signals: Iterable[Signal], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "key": f"signal:{s.event_id}:{s.kind}:{s.scope}",
            "kind": "signal",
            "at": s.at,
            "recorded_at": now,
            "event_id": s.event_id,
            "signal": s.kind,
            "strength": s.strength,
            "detail": {"scope": s.scope, "score": s.score, "pressure": s.pressure, **s.detail},
            "mirror": "",
        }
        for s in signals
    ]


def _open(
    runtime: Runtime,
    unit: Unit,
    wiring: Wiring,
    decision: Decision,
    event: Event,
    facts: EventFacts,
    out: Outbox,
    now: datetime,
) -> bool:
    repo = IncidentRepo(unit)
    incident = decision.incident
    if repo.get(incident.id) is not None:
        return False  # opened by an earlier run of this event's job (the id comes from its first signal)
    policy = wiring.config.policy_for(incident.scope, incident.severity)
    row = repo.add(
        IncidentRow(
            id=incident.id,
            scope=incident.scope,
            brand=incident.scope.partition(":")[2] or None,
            status="open",
            severity=incident.severity,
            score=incident.score,
            data=incident.model_dump(mode="json"),
            opened_at=incident.opened_at,
            updated_at=now,
            policy_id=policy.id if policy else None,
            escalation=None,
            escalation_round=0,
            revision=1,
            rendered_revision=0,
            room=policy is not None and policy.id in wiring.rooms,
        )
    )
    repo.add_entries(row.id, [_event_entry(event, facts, now), *_signal_entries(decision.signals, now)])
    unit.audit(
        actor="vigie",
        door="worker",
        action="crisis.open",
        subject=row.id,
        detail={"scope": row.scope, "severity": row.severity, "policy": row.policy_id, "event": event.id},
        at=now,
    )
    out.effects.extend(card_effects(runtime, unit, wiring, row, now))
    if policy is not None:
        row.escalation = _dump(start(policy, row.id, now))
        _advance(runtime, unit, wiring, row, out, now)
    if row.room:
        _mirror(runtime, unit, wiring, row, event, facts, out, now)
    return True


def _join(
    runtime: Runtime,
    unit: Unit,
    wiring: Wiring,
    row: IncidentRow,
    decision: Decision,
    event: Event,
    facts: EventFacts,
    out: Outbox,
    now: datetime,
) -> bool:
    repo = IncidentRepo(unit)
    if repo.has_event(row.id, event.id):
        return False  # a re-run of this event's job: its signals are in already
    incident = decision.incident
    row.data = incident.model_dump(mode="json")
    row.score = incident.score
    row.updated_at = now
    repo.add_entries(row.id, [_event_entry(event, facts, now), *_signal_entries(decision.signals, now)])
    row.revision += 1
    if decision.severity_raised:
        row.severity = incident.severity
        unit.audit(
            actor="vigie",
            door="worker",
            action="crisis.severity",
            subject=row.id,
            detail={"severity": row.severity},
            at=now,
        )
        _escalate_again(runtime, unit, wiring, row, out, now)
    out.effects.extend(card_effects(runtime, unit, wiring, row, now))
    if row.room:
        _mirror(runtime, unit, wiring, row, event, facts, out, now)
    return True


def _add_event(
    runtime: Runtime,
    unit: Unit,
    wiring: Wiring,
    row: IncidentRow,
    event: Event,
    facts: EventFacts,
    out: Outbox,
    now: datetime,
) -> bool:
    """A related event without signals of its own joins the timeline (and the room)."""
    repo = IncidentRepo(unit)
    if not repo.add_entries(row.id, [_event_entry(event, facts, now)]):
        return False
    row.data = with_event(_incident(row), event.created_at).model_dump(mode="json")
    row.updated_at = now
    row.revision += 1
    if row.rendered_at is None or now - row.rendered_at >= CARD_REFRESH:
        out.effects.extend(card_effects(runtime, unit, wiring, row, now))
    elif row.revision == row.rendered_revision + 1:
        # The first change held back in this window: one timer brings the card up to date after it.
        at = row.rendered_at + CARD_REFRESH
        out.timers.append((f"crisis-card:{row.id}", at, REFRESH_TASK, {"incident_id": row.id}))
    if row.room:
        _mirror(runtime, unit, wiring, row, event, facts, out, now)
    return True


# -- the incident card ---------------------------------------------------------------------------


def render_card(row: IncidentRow, workspace: Workspace, timezone: str, now: datetime | None = None) -> Card:
    lang = _lang(workspace)
    incident = _incident(row)
    now = now or utcnow()
    if row.status == "resolved":
        state = say(
            "resolved",
            lang,
            who=_name(workspace, row.resolved_by),
            at=_clock(row.resolved_at or now, timezone),
        )
        buttons: tuple[Button, ...] = ()
    elif row.status == "acknowledged":
        state = say(
            "acknowledged",
            lang,
            who=_name(workspace, row.acknowledged_by),
            at=_clock(row.acknowledged_at or now, timezone),
        )
        buttons = (Button(action="resolve", value=row.id, label=say("b_resolve", lang), style="primary"),)
    else:
        escalating = bool(row.escalation) and (row.escalation or {}).get("status") == "active"
        state = say("open" if escalating else "open_done", lang)
        buttons = (
            Button(action="ack", value=row.id, label=say("b_ack", lang), style="primary"),
            Button(action="silence", value=row.id, label=say("b_silence", lang)),
        )
    fields: list[tuple[str, str]] = [(say("status", lang), state)]
    if row.silenced_until is not None and row.silenced_until > now and row.status != "resolved":
        fields.append((say("status", lang), say("silenced", lang, at=_clock(row.silenced_until, timezone))))
    if row.policy_id:
        fields.append((say("policy", lang), row.policy_id))
    return Card(
        title=title(incident, lang),
        text=summary(incident, lang, timezone),
        fields=tuple(fields),
        buttons=buttons,
        severity="good" if row.status == "resolved" else ("warning" if row.severity == "minor" else "danger"),
        footer=row.id,
    )


def _name(workspace: Workspace, staff_id: str | None) -> str:
    if not staff_id:
        return "-"
    person = workspace.staff.get(staff_id)
    return person.name if person else staff_id


def _targets(runtime: Runtime, channel: str) -> list[tuple[str, str]]:
    """(platform, platform channel) of a named team channel, among the platforms this process runs;
    without a `crisis` channel in vigie.yaml, incidents go to the default channel."""
    workspace = runtime.workspace
    if channel not in workspace.channels and channel == CRISIS_CHANNEL:
        channel = workspace.default_channel
    return workspace.channel_targets(channel, runtime.team_chats)


def _ref(posted: PostedMessage) -> dict[str, JsonValue]:
    return MessageRef(
        platform=posted.platform,
        channel=posted.channel,
        message_id=posted.message_id,
        thread_id=posted.thread_id,
    ).model_dump(mode="json")


def card_effects(
    runtime: Runtime, unit: Unit, wiring: Wiring, row: IncidentRow, now: datetime
) -> list[Effect]:
    """Post the card where it is not yet, re-render it where it is: one effect per revision."""
    if row.rendered_revision >= row.revision and row.rendered_at is not None:
        return []
    card = render_card(row, runtime.workspace, wiring.timezone, now).model_dump(mode="json")
    posted = IncidentRepo(unit).cards(row.id)
    where = {(p.platform, p.channel) for p in posted}
    effects = [
        Effect(
            kind="post_card",
            subject=row.id,
            name=f"card@{platform}:{channel}",
            params={"platform": platform, "channel": channel, "card": card, "incident_id": row.id},
        )
        for platform, channel in _targets(runtime, CRISIS_CHANNEL)
        if (platform, channel) not in where
    ]
    effects += [
        Effect(
            kind="update_card",
            subject=row.id,
            name=f"rev{row.revision}@{p.id}",
            params={"platform": p.platform, "ref": _ref(p), "card": card, "incident_id": row.id},
        )
        for p in posted
    ]
    row.rendered_revision, row.rendered_at = row.revision, now
    return effects


# -- crisis room ---------------------------------------------------------------------------------


def _mirror(
    runtime: Runtime,
    unit: Unit,
    wiring: Wiring,
    row: IncidentRow,
    event: Event,
    facts: EventFacts,
    out: Outbox,
    now: datetime,
) -> None:
    """Mirror an event into the thread of the incident's card, or queue it for the minute's digest
    when the room is busy: a crisis room nobody can read is noise."""
    repo = IncidentRepo(unit)
    spec = wiring.rooms.get(row.policy_id or "", RoomSpec())
    key = f"event:{event.id}"
    if repo.mirrored_since(row.id, now - timedelta(minutes=1)) >= spec.per_minute:
        repo.set_mirror(row.id, key, "pending")
        minute = int(now.timestamp() // 60)
        at = datetime.fromtimestamp((minute + 1) * 60, now.tzinfo)
        out.timers.append(
            (f"crisis-digest:{row.id}:{minute}", at, DIGEST_TASK, {"incident_id": row.id, "minute": minute})
        )
        return
    repo.set_mirror(row.id, key, "posted")
    lang = _lang(runtime.workspace)
    card = Card(
        title=say("room_event", lang, source=event.source, kind=event.kind),
        text=event.text[:600],
        url=event.url,
        labels=facts.labels[:8],
        severity="warning" if facts.negative or facts.crisis_weight > 0 else "info",
        footer=event.id,
    ).model_dump(mode="json")
    out.effects.extend(_room_notes(runtime, unit, row, f"room-{event.id}", card))


def _room_notes(
    runtime: Runtime, unit: Unit, row: IncidentRow, name: str, card: dict[str, Any]
) -> list[Effect]:
    cards = IncidentRepo(unit).cards(row.id)
    if not cards:
        # The card is posted in this same batch: thread under it once it exists, from its platform's
        # channel (the room waits for the next event rather than posting loose in the channel).
        return []
    return [
        Effect(
            kind="post_note",
            subject=row.id,
            name=f"{name}@{p.id}",
            params={
                "platform": p.platform,
                "channel": p.channel,
                "thread": _ref(p),
                "card": card,
                "role": "room",
                "incident_id": row.id,
            },
        )
        for p in cards
    ]


def _digest(runtime: Runtime, unit: Unit, row: IncidentRow, minute: int, out: Outbox) -> bool:
    repo = IncidentRepo(unit)
    pending = repo.take_pending_digest(row.id)
    if not pending:
        return False
    lang = _lang(runtime.workspace)
    sources = Counter(str(entry.detail.get("source", "?")) for entry in pending)
    negative = sum(1 for entry in pending if entry.detail.get("negative"))
    card = Card(
        title=say("digest_title", lang, n=len(pending)),
        text=say(
            "digest_text",
            lang,
            negative=negative,
            sources=", ".join(f"{name} ({count})" for name, count in sources.most_common(5)),
        ),
        severity="warning",
        footer=row.id,
    ).model_dump(mode="json")
    out.effects.extend(_room_notes(runtime, unit, row, f"digest-{minute}", card))
    return True


# -- escalation ----------------------------------------------------------------------------------


def _dump(state: EscalationState) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(state.to_json())
    return data


def _state(row: IncidentRow) -> EscalationState | None:
    return EscalationState.model_validate(row.escalation) if row.escalation else None


def _advance(
    runtime: Runtime, unit: Unit, wiring: Wiring, row: IncidentRow, out: Outbox, now: datetime
) -> None:
    state = _state(row)
    if state is None:
        return
    policy = wiring.config.policy(state.policy_id)
    if policy is None:
        log.error("incident %s: escalation policy %s is gone; paging stops", row.id, state.policy_id)
        out.schedule(row.id, None)
        return
    due = [at for at in (state.wake_at, state.silenced_until) if at is not None and at > now]
    if due and max(due) - now <= SCHEDULER_SLACK:
        now = max(due)
    counts = IncidentRepo(unit).entry_times(row.id)
    notes, wake_at, new = advance(policy, state, now, counts)
    row.escalation = _dump(new)
    if row.silenced_until is not None and new.silenced_until is None:
        row.silenced_until = None
        row.revision += 1
    if state.status == "active" and new.status != "active":
        row.revision += 1  # the card stops saying "paging"
    for note in notes:
        out.effects.extend(_page(runtime, unit, wiring, row, policy, note, now))
    out.schedule(row.id, wake_at)
    out.effects.extend(card_effects(runtime, unit, wiring, row, now))


def _escalate_again(
    runtime: Runtime, unit: Unit, wiring: Wiring, row: IncidentRow, out: Outbox, now: datetime
) -> None:
    """Severity went up: run the steps again, under the policy that matches the new severity; page
    keys carry the escalation round so the second run pages where the first one did."""
    state = _state(row)
    policy = wiring.config.policy_for(row.scope, _incident(row).severity)
    if policy is None:
        return
    if state is None or state.policy_id != policy.id:
        fresh = start(policy, row.id, now)
        if state is not None:
            fresh = fresh.model_copy(update={"ever_acknowledged": state.ever_acknowledged})
        state = fresh
    else:
        state = escalate_again(state, now)
    row.policy_id = policy.id
    row.escalation = _dump(state)
    row.escalation_round += 1
    _advance(runtime, unit, wiring, row, out, now)


def people(workspace: Workspace, users: Sequence[str], roles: Sequence[str]) -> list[str]:
    """Staff ids a notification reaches: named users, and the holders of each role who are on duty
    (all holders when none is, so a role never pages nobody)."""
    found = [user for user in users if user in workspace.staff]
    for role in roles:
        holders = [sid for sid, p in workspace.staff.items() if role in p.roles]
        on_duty = [sid for sid in holders if workspace.staff[sid].on_duty]
        found.extend(on_duty or holders)
    return list(dict.fromkeys(found))


def _mention(person: Staff, staff_id: str, platform: str) -> str:
    if platform == "slack" and person.slack:
        return f"<@{person.slack}>"
    if platform == "discord" and person.discord:
        return f"<@{person.discord}>"
    return f"@{person.name or staff_id}"


def _page(
    runtime: Runtime,
    unit: Unit,
    wiring: Wiring,
    row: IncidentRow,
    policy: Policy,
    note: Notification,
    now: datetime,
) -> list[Effect]:
    workspace = runtime.workspace
    lang = _lang(workspace)
    staff = people(workspace, note.users, note.roles)
    channels = list(note.channels) or [CRISIS_CHANNEL]
    IncidentRepo(unit).add_entries(
        row.id,
        [
            {
                "key": f"page:{row.escalation_round}:{note.round}:{note.step}",
                "kind": "page",
                "at": now,
                "recorded_at": now,
                "event_id": None,
                "signal": None,
                "strength": 0.0,
                "detail": {"policy": policy.id, "step": note.step, "round": note.round, "staff": staff},
                "mirror": "",
            }
        ],
    )
    first_pass = row.escalation_round == 0 and note.round == 0
    effects = []
    for channel in channels:
        if not staff and first_pass and channel == CRISIS_CHANNEL:
            continue  # the incident card, just posted there, is this notification: one message, not two
        for platform, where in _targets(runtime, channel):
            mentions = [_mention(workspace.staff[sid], sid, platform) for sid in staff]
            lines = [say("paging", lang, people=", ".join(mentions))] if mentions else []
            if not first_pass:
                lines.append(say("reminder", lang))
            card = Card(
                title=say("page_title", lang, title=title(_incident(row), lang)),
                text="\n".join(lines),
                buttons=(Button(action="ack", value=row.id, label=say("b_ack", lang), style="primary"),),
                severity="danger",
                footer=row.id,
            )
            effects.append(
                Effect(
                    kind="page",
                    subject=row.id,
                    name=f"g{row.escalation_round}:{policy.id}:{note.round}:{note.step}@{platform}:{where}",
                    params={
                        "platform": platform,
                        "channel": where,
                        "card": card.model_dump(mode="json"),
                        "role": "page",
                        "staff": list(staff),
                        "incident_id": row.id,
                    },
                )
            )
    return effects


def handle_crisis_timer(runtime: Runtime, task: str, args: dict[str, Any]) -> bool:
    """`crisis_advance` runs the incident's escalation from where it stopped; `crisis_digest` posts
    the crisis room's digest for a busy minute; `crisis_refresh` brings a card held back by
    `CARD_REFRESH` up to date. False when stale (the incident moved on)."""
    wiring = crisis_wiring(runtime)
    incident_id = str(args.get("incident_id", ""))
    if wiring is None or not incident_id:
        return False
    out = Outbox()
    now = utcnow()
    with runtime.store.unit() as unit:
        row = IncidentRepo(unit).get(incident_id, lock=True)
        if row is None or row.status == "resolved":
            return False
        if task == ADVANCE_TASK:
            _advance(runtime, unit, wiring, row, out, now)
            done = True
        elif task == DIGEST_TASK:
            done = _digest(runtime, unit, row, int(str(args.get("minute", 0))), out)
        elif task == REFRESH_TASK:
            effects = card_effects(runtime, unit, wiring, row, now)
            out.effects.extend(effects)
            done = bool(effects)
        else:
            return False
    out.release(runtime, now=True)
    return done


# -- staff actions -------------------------------------------------------------------------------


def handles(command: StaffCommand) -> bool:
    """Whether the main dispatcher should hand `command` to `dispatch_crisis`: the crisis verbs, and
    the card's Resolve button, which the adapters send as `resolve` with the incident id."""
    if command.verb in ("ack", "acknowledge", "silence", "crisis_resolve", "crisis_silence", "oncall"):
        return True
    target = command.args.get("incident_id") or command.args.get("case_id")
    return command.verb == "resolve" and str(target or "").startswith("inc-")


def dispatch_crisis(runtime: Runtime, command: StaffCommand, *, now: datetime | None = None) -> CommandResult:
    """ack (approver, lead, admin, moderator), silence (same), resolve (lead, admin), oncall (staff)."""
    workspace = runtime.workspace
    found = workspace.staff_by_identity(command.door, command.actor)
    lang: Lang = _lang(workspace)
    if found is None:
        return CommandResult(ok=False, message=say("no_staff", lang))
    staff_id, person = found
    lang = "fr" if (person.lang or workspace.language) == "fr" else "en"
    verb = {"acknowledge": "ack", "crisis_resolve": "resolve", "crisis_silence": "silence"}.get(
        command.verb, command.verb
    )
    if verb == "oncall":
        return _oncall(runtime, lang)
    if verb not in ("ack", "resolve", "silence"):
        return CommandResult(ok=False, message=say("unknown_verb", lang, verb=command.verb))
    allowed = RESOLVE_ROLES if verb == "resolve" else ACK_ROLES
    if not allowed & set(person.roles):
        roles = ", ".join(sorted(allowed))
        return CommandResult(ok=False, message=say("no_role", lang, roles=roles, verb=_VERBS[lang][verb]))
    now = now or utcnow()
    until: datetime | None = None
    if verb == "silence":
        parsed = _until(command.args, now)
        if isinstance(parsed, str):
            return CommandResult(
                ok=False, message=say(parsed, lang, value=_raw_until(command.args), max=MAX_SILENCE.days)
            )
        until = parsed
    target = command.args.get("incident_id") or command.args.get("case_id")
    return act(runtime, verb, str(target) if target else None, staff_id, command.door, lang, now, until)


def _raw_until(args: dict[str, JsonValue]) -> str:
    return str(args.get("until") or args.get("duration") or "")


def _until(args: dict[str, JsonValue], now: datetime) -> datetime | Literal["bad_until", "bad_span"]:
    raw = args.get("until")
    until: datetime
    if raw:
        try:
            until = datetime.fromisoformat(str(raw))
        except ValueError:
            try:
                until = now + parse_duration(str(raw))
            except ValueError:
                return "bad_until"
        if until.tzinfo is None:
            until = until.replace(tzinfo=now.tzinfo)
    else:
        duration = args.get("duration")
        try:
            until = now + (parse_duration(str(duration)) if duration else DEFAULT_SILENCE)
        except ValueError:
            return "bad_until"
    if not timedelta(minutes=1) <= until - now <= MAX_SILENCE:
        return "bad_span"
    return until


def act(
    runtime: Runtime,
    verb: Literal["ack", "resolve", "silence"] | str,
    incident_id: str | None,
    staff_id: str,
    door: str,
    lang: Lang,
    now: datetime,
    until: datetime | None = None,
) -> CommandResult:
    """Acknowledge, resolve or silence an incident (the latest live one when no id is given)."""
    wiring = crisis_wiring(runtime)
    out = Outbox()
    with runtime.store.unit() as unit:
        repo = IncidentRepo(unit)
        row = repo.get(incident_id, lock=True) if incident_id else repo.latest_live()
        if row is None:
            key = "no_incident" if incident_id else "no_live"
            return CommandResult(ok=False, message=say(key, lang, id=incident_id))
        data: dict[str, JsonValue] = {"incident_id": row.id}
        if row.status == "resolved":
            return CommandResult(
                ok=False, message=say("is_resolved", lang, id=row.id), data={**data, "status": "resolved"}
            )
        state = _state(row)
        if verb == "ack":
            if row.status == "acknowledged":
                who = _name(runtime.workspace, row.acknowledged_by)
                return CommandResult(
                    ok=True,
                    message=say("already_acked", lang, id=row.id, who=who),
                    data={**data, "status": row.status},
                )
            row.status, row.acknowledged_at, row.acknowledged_by = "acknowledged", now, staff_id
            if state is not None:
                row.escalation = _dump(acknowledge(state, staff_id, now))
            out.schedule(row.id, None)
            message = say("acked", lang, id=row.id)
        elif verb == "resolve":
            row.status, row.resolved_at, row.resolved_by = "resolved", now, staff_id
            if state is not None:
                row.escalation = _dump(resolve(state, now))
            out.schedule(row.id, None)
            message = say("resolved_ok", lang, id=row.id)
        else:
            assert until is not None
            row.silenced_until = until
            if state is not None:
                silenced = silence(state, until)
                row.escalation = _dump(silenced)
                if silenced.status == "active":
                    out.schedule(row.id, until)  # resume where it was when the silence ends
            tz = wiring.timezone if wiring else "UTC"
            message = say("silenced_ok", lang, id=row.id, at=_clock(until, tz))
        row.revision += 1
        row.updated_at = now
        IncidentRepo(unit).add_entries(
            row.id,
            [
                {
                    "key": f"action:{verb}:{now.isoformat()}",
                    "kind": "action",
                    "at": now,
                    "recorded_at": now,
                    "event_id": None,
                    "signal": None,
                    "strength": 0.0,
                    "detail": {"action": verb, "by": staff_id, "door": door},
                    "mirror": "",
                }
            ],
        )
        detail: dict[str, Any] = {"status": row.status}
        if until is not None:
            detail["until"] = until.isoformat()
        unit.audit(actor=staff_id, door=door, action=f"crisis.{verb}", subject=row.id, detail=detail, at=now)
        if wiring is not None:
            out.effects.extend(card_effects(runtime, unit, wiring, row, now))
        data["status"] = row.status
        if row.silenced_until is not None:
            data["silenced_until"] = row.silenced_until.isoformat()
    out.release(runtime, now=False)
    return CommandResult(ok=True, message=message, data=data)


def _oncall(runtime: Runtime, lang: Lang) -> CommandResult:
    wiring = crisis_wiring(runtime)
    if wiring is None:
        return CommandResult(ok=False, message=say("oncall_none", lang))
    workspace = runtime.workspace
    lines = [say("oncall_head", lang)]
    data: dict[str, JsonValue] = {}
    for policy in wiring.config.policies:
        steps: list[JsonValue] = []
        for index, step in enumerate(policy.steps):
            targets = getattr(step, "notify", None)
            if targets is None:
                continue
            staff = people(workspace, targets.users, targets.roles)
            steps.append({"step": index, "channels": list(targets.channels), "staff": list(staff)})
            names = ", ".join(_name(workspace, s) for s in staff) or "-"
            channels = ", ".join(f"#{c}" for c in targets.channels)
            lines.append(f"• {policy.id} #{index}: {names}" + (f" ({channels})" if channels else ""))
        data[policy.id] = steps
    return CommandResult(ok=True, message="\n".join(lines), data=data)


# -- reading -------------------------------------------------------------------------------------


def incident_view(row: IncidentRow, workspace: Workspace, timezone: str) -> dict[str, JsonValue]:
    """What `vigie crisis list/show --json` print: ids, states and times, never message text."""
    incident = _incident(row)
    return {
        "id": row.id,
        "scope": row.scope,
        "status": row.status,
        "severity": row.severity,
        "score": row.score,
        "opened_at": row.opened_at.isoformat(),
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
        "resolved_by": row.resolved_by,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "silenced_until": row.silenced_until.isoformat() if row.silenced_until else None,
        "policy": row.policy_id,
        "escalation": (row.escalation or {}).get("status"),
        "events": incident.events,
        "signals": incident.signals,
        "title": title(incident, _lang(workspace)),
        "summary": summary(incident, _lang(workspace), timezone),
    }


def list_incidents(
    runtime: Runtime, *, include_resolved: bool = False, limit: int = 50
) -> list[dict[str, JsonValue]]:
    wiring = crisis_wiring(runtime)
    tz = wiring.timezone if wiring else "UTC"
    with runtime.store.unit() as unit:
        statuses = () if include_resolved else ("open", "acknowledged")
        return [
            incident_view(r, runtime.workspace, tz)
            for r in IncidentRepo(unit).recent(statuses=statuses, limit=limit)
        ]


def show_incident(runtime: Runtime, incident_id: str) -> dict[str, JsonValue] | None:
    wiring = crisis_wiring(runtime)
    tz = wiring.timezone if wiring else "UTC"
    with runtime.store.unit() as unit:
        repo = IncidentRepo(unit)
        row = repo.get(incident_id)
        if row is None:
            return None
        view = incident_view(row, runtime.workspace, tz)
        view["timeline"] = [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "signal": e.signal,
                "event_id": e.event_id,
                "detail": e.detail,
            }
            for e in repo.timeline(row.id)
        ]
        return view


def record_signal(runtime: Runtime, effect: Effect) -> dict[str, Any]:
    """The applier's `signal` effect: observe the event now (the pipeline's own call afterwards
    finds it observed), so a rule signal reaches its incident even before the hook runs."""
    with runtime.store.unit() as unit:
        event = unit.events.get_event(effect.subject)
        verdict = unit.events.verdict(effect.subject)
        unit.audit(
            actor="vigie",
            door="worker",
            action="crisis.signal",
            subject=effect.subject,
            detail={"score": effect.params.get("score"), "signals": effect.params.get("signals")},
        )
    if event is not None and verdict is not None:
        observe_event(runtime, event, verdict)
    return {"score": effect.params.get("score")}
