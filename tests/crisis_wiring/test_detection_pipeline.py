"""Detection through the real pipeline: events ingested, processed by `bot.pipeline.process_event`,
observed by the crisis hook, on real Redis and a real store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.crisis_service import REFRESH_TASK, handle_crisis_timer, observe_event
from bot.events import Event
from bot.ingest import Ingestor
from bot.pipeline import process_event
from bot.platforms.console.chat import read_channel
from bot.runtime import Runtime
from bot.store.crisis_state import SCOPE_PREFIX, SEEN_PREFIX
from bot.store.incidents import IncidentRepo
from tests.crisis_wiring.support import incidents, make_event

# A Wednesday morning, far enough in the past that scheduled steps never come due during a test.
START = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
NEGATIVE = [
    "Service client injoignable, je suis très déçu, c'est nul",
    "Terrible service, very disappointed, worst brand ever",
    "Commande jamais reçue, c'est une honte, arnaque",
]


def run(rt: Runtime, events: list[Event]) -> None:
    """Ingest, then process in time order as one worker would; the crisis hook after each event
    (a no-op when the pipeline already calls it: observation is once per event)."""
    Ingestor(rt.store, rt.queue).ingest_many(events)
    for event in sorted(events, key=lambda e: e.created_at):
        process_event(rt, event.id, "test-worker")
        with rt.store.unit() as unit:
            verdict = unit.events.verdict(event.id)
        assert verdict is not None
        observe_event(rt, event, verdict)


def baseline(hours: int = 48, every: timedelta = timedelta(hours=2)) -> list[Event]:
    """A quiet brand: a neutral question every two hours for two days."""
    count = int(timedelta(hours=hours) / every)
    return [make_event(n, "Bonjour, avez-vous des horaires ?", at=START + n * every) for n in range(count)]


def burst(first: int, start: datetime, span: timedelta, count: int = 50) -> list[Event]:
    step = span / count
    return [make_event(first + n, NEGATIVE[n % 3], at=start + n * step) for n in range(count)]


def test_a_burst_of_negative_events_opens_exactly_one_incident(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    quiet = baseline()
    spike_start = START + timedelta(hours=48, minutes=7)
    run(rt, quiet + burst(1000, spike_start, timedelta(minutes=10)))

    opened = incidents(rt)
    assert len(opened) == 1
    incident = opened[0]
    assert incident.scope == "brand:self" and incident.status == "open"
    assert incident.data["kinds"].get("negative_spike", 0) >= 1
    with rt.store.unit() as unit:
        timeline = IncidentRepo(unit).timeline(incident.id, limit=500)
    events_in = {entry.event_id for entry in timeline if entry.kind == "event"}
    # Every negative event from the opening one on joined the timeline, none of the quiet ones.
    assert len(events_in) >= 40 and events_in <= {
        e.id for e in burst(1000, spike_start, timedelta(minutes=10))
    }
    cards = [card for _id, thread, card in read_channel(rt.store, "crisis") if card.footer == incident.id]
    assert len(cards) == 1, "one message per incident, updated in place"
    assert {b.action for b in cards[0].buttons} == {"ack", "silence"}
    assert "negative messages spiking" in cards[0].text.lower()
    # The card was held back during the burst (chat.update is rate limited); its timer catches up.
    handle_crisis_timer(rt, REFRESH_TASK, {"incident_id": incident.id})
    cards = [card for _id, thread, card in read_channel(rt.store, "crisis") if card.footer == incident.id]
    assert len(cards) == 1 and f"{len(events_in)} event(s)" in cards[0].text


def test_the_same_burst_spread_over_a_day_opens_none(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    spread = burst(2000, START + timedelta(hours=48), timedelta(hours=24))
    run(rt, baseline() + spread)
    assert incidents(rt) == []


def test_a_rerun_of_the_same_events_changes_nothing(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    events = baseline() + burst(3000, START + timedelta(hours=48, minutes=7), timedelta(minutes=10))
    run(rt, events)
    with rt.store.unit() as unit:
        before = [(r.id, r.score, r.data["events"], r.revision) for r in IncidentRepo(unit).recent()]
    states = {k: rt.redis.client.get(k) for k in rt.redis.client.scan_iter(f"{SCOPE_PREFIX}*")}

    for event in events[-20:]:
        with rt.store.unit() as unit:
            verdict = unit.events.verdict(event.id)
        assert verdict is not None
        observe_event(rt, event, verdict)

    with rt.store.unit() as unit:
        after = [(r.id, r.score, r.data["events"], r.revision) for r in IncidentRepo(unit).recent()]
    assert after == before
    assert {k: rt.redis.client.get(k) for k in rt.redis.client.scan_iter(f"{SCOPE_PREFIX}*")} == states


def test_scope_state_and_event_markers_expire(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    event = make_event(1, NEGATIVE[0], at=START)
    run(rt, [event])
    scope_ttl = rt.redis.client.ttl(f"{SCOPE_PREFIX}brand:self")
    seen_ttl = rt.redis.client.ttl(f"{SEEN_PREFIX}{event.id}")
    assert 14 * 86400 < scope_ttl <= 15 * 86400
    assert 0 < seen_ttl <= 3600
