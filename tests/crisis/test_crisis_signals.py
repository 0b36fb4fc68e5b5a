"""Signals from events: spikes of negative events, rating bursts, reach, rules; and when they open
an incident."""

from __future__ import annotations

from datetime import timedelta

from bot.crisis.signals import (
    DetectionConfig,
    EventFacts,
    ScopeState,
    SignalEngine,
    facts_from_verdict,
    facts_without_rulebook,
)
from bot.events import Action, Event, Verdict
from tests.crisis.crisis_helpers import T0, Worker, event, quiet_baseline

BURST_AT = T0 + timedelta(days=3, hours=10)


def test_fifty_negative_events_in_ten_minutes_open_exactly_one_incident() -> None:
    burst = [event(1000 + k, BURST_AT + timedelta(seconds=12 * k), 1) for k in range(50)]
    worker = Worker().run(quiet_baseline() + burst)
    assert len(worker.opened) == 1
    incident = worker.opened[0].incident
    assert incident.scope == "brand:self"
    assert BURST_AT <= incident.opened_at < BURST_AT + timedelta(minutes=10)
    assert {"negative_spike", "rating_burst"} <= set(worker.incidents["brand:self"].kinds)
    # Every later signal joined the same incident.
    assert all(d.incident.id == incident.id for d in worker.decisions)


def test_the_same_fifty_spread_over_a_day_open_none() -> None:
    spread = [event(1000 + k, BURST_AT + timedelta(minutes=28.8 * k), 1) for k in range(50)]
    worker = Worker().run(quiet_baseline() + spread)
    assert worker.opened == []
    assert not any(s.kind in ("negative_spike", "volume_spike") for s in worker.signals)


def test_the_burst_opens_nothing_without_history_yet() -> None:
    # A scope seen for the first time is in warm-up: no spike alert on day one.
    burst = [event(1000 + k, BURST_AT + timedelta(seconds=12 * k), 5) for k in range(50)]
    worker = Worker().run(burst)
    assert not any(s.kind.endswith("_spike") for s in worker.signals)


def test_rating_burst_fires_on_a_quiet_shop_not_on_a_busy_one() -> None:
    bad = [event(500 + k, BURST_AT + timedelta(minutes=5 * k), 1) for k in range(6)]
    quiet = Worker().run(bad)
    assert [s.kind for s in quiet.signals if s.scope == "brand:self"] == ["rating_burst"]
    # A shop that usually gets six 1-star reviews an hour is not bombed by six more.
    usual = [event(k, T0 + timedelta(minutes=10 * k), 1) for k in range(6 * 24 * 3)]
    busy = Worker().run([*usual, *bad])
    assert not any(s.kind == "rating_burst" and s.at >= BURST_AT for s in busy.signals)


def test_reach_alone_does_not_open_but_reach_with_a_rule_does() -> None:
    loud = event(1, T0, 1, followers=20_000)
    alone = Worker().run([loud])
    assert [s.kind for s in alone.signals] == ["reach"]
    assert alone.opened == []
    # Ten times the reach threshold is a crisis by itself.
    assert len(Worker().run([event(3, T0, 1, followers=250_000)]).opened) == 1

    def with_rule(e: Event) -> EventFacts:
        facts = facts_without_rulebook(e)
        return facts.model_copy(update={"crisis_weight": 0.6, "crisis_rules": ("allergy",)})

    both = Worker(facts=with_rule).run([loud])
    assert {s.kind for s in both.signals} == {"reach", "rule"}
    assert len(both.opened) == 1
    assert both.opened[0].incident.rules == ("allergy",)
    # A positive post from the same author is not a reach signal.
    assert Worker().run([event(2, T0, 5, followers=250_000)]).signals == []


def test_weak_rule_hits_add_up_within_the_window_only() -> None:
    def weak(e: Event) -> EventFacts:
        return facts_without_rulebook(e).model_copy(update={"crisis_weight": 0.4})

    two_apart = Worker(facts=weak).run([event(1, T0), event(2, T0 + timedelta(hours=3))])
    assert two_apart.opened == []
    three_close = Worker(facts=weak).run([event(n, T0 + timedelta(minutes=n)) for n in range(3)])
    assert len(three_close.opened) == 1


def test_incidents_are_per_brand() -> None:
    def ruled(e: Event) -> EventFacts:
        return facts_without_rulebook(e).model_copy(update={"crisis_weight": 1.0})

    events = [
        event(1, T0, brand="acme"),
        event(2, T0, brand="rival"),
        event(3, T0 + timedelta(minutes=1), brand="acme"),
    ]
    worker = Worker(facts=ruled).run(events)
    assert sorted(d.incident.scope for d in worker.opened) == ["brand:acme", "brand:rival"]
    assert worker.incidents["brand:acme"].kinds == {"rule": 2}


def test_facts_from_a_verdict_and_the_fallback() -> None:
    review = event(1, T0, 4)
    verdict = Verdict(
        event_id=review.id,
        labels=("allergy",),
        sentiment=-0.7,
        crisis_score=1.5,
        actions=(Action(type="signal", rule="allergy-child", params={"signal": "crisis", "weight": 1.5}),),
    )
    facts = facts_from_verdict(review, verdict)
    assert facts.negative and facts.crisis_weight == 1.5
    assert facts.crisis_rules == ("allergy-child",) and facts.labels == ("allergy",)
    assert not facts_without_rulebook(review).negative
    assert facts_without_rulebook(event(2, T0, 2)).negative


def test_scopes_cover_brand_source_and_labels() -> None:
    engine = SignalEngine(DetectionConfig(scope_labels=("allergy",)))
    facts = EventFacts(event_id="x", at=T0, source="instagram", labels=("allergy", "toxic"))
    assert engine.scopes(facts) == ("brand:self", "source:instagram", "label:allergy")


def test_scope_state_round_trips_and_a_damaged_one_restarts() -> None:
    worker = Worker().run(quiet_baseline(days=1))
    state = worker.states["brand:self"]
    assert ScopeState.from_json(state.to_json()) == state
    assert ScopeState.from_json("{not json") == ScopeState()
