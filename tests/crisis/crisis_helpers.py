"""Builders shared by the crisis tests: events, and a worker-like loop over signals and incidents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.crisis.incidents import Decision, Incident, decide
from bot.crisis.signals import (
    DetectionConfig,
    FactsFn,
    ScopeState,
    Signal,
    SignalEngine,
    facts_without_rulebook,
)
from bot.events import Author, Event

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def event(
    n: int,
    at: datetime,
    rating: int | None = 5,
    *,
    followers: int | None = None,
    brand: str | None = None,
    source: str = "google-reviews",
) -> Event:
    return Event(
        source=source,
        kind="review" if rating is not None else "comment",
        external_id=f"e{n}",
        text="Colis arrivé cassé." if rating is not None and rating <= 2 else "Très bien.",
        author=Author(id=f"u{n}", followers=followers),
        rating=rating,
        created_at=at,
        brand=brand,
    )


def quiet_baseline(days: int = 3, start: datetime = T0) -> list[Event]:
    """One review every 20 minutes, one in nine of them a 1-star."""
    out, n, at = [], 0, start
    while at < start + timedelta(days=days):
        n += 1
        out.append(event(n, at, 1 if n % 9 == 0 else 5))
        at += timedelta(minutes=20)
    return out


@dataclass
class Worker:
    """What the lead's worker does per event, with dicts for Redis and the store."""

    config: DetectionConfig = field(default_factory=DetectionConfig)
    facts: FactsFn = facts_without_rulebook
    states: dict[str, ScopeState] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    signals: list[Signal] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def run(self, events: Iterable[Event]) -> Worker:
        engine = SignalEngine(self.config)
        for item in sorted(events, key=lambda e: e.created_at):
            facts = self.facts(item)
            keys = engine.scopes(facts)
            # Round-trip through JSON as Redis would.
            loaded = {k: ScopeState.from_json(self.states[k].to_json()) for k in keys if k in self.states}
            signals, changed = engine.observe(facts, loaded)
            self.states.update(changed)
            self.signals.extend(signals)
            for decision in decide(signals, self.incidents.values(), self.config):
                self.incidents[decision.incident.scope] = decision.incident
                self.decisions.append(decision)
        return self

    @property
    def opened(self) -> list[Decision]:
        return [d for d in self.decisions if d.action == "open"]
