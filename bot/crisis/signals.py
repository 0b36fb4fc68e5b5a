"""Crisis signals from single events: spikes of volume and of negative events per scope, bursts of
one- and two-star ratings, authors with a large reach, and crisis rules from the rulebook.

The rulebook is reached through a seam: the engine reads `EventFacts` (negative? crisis weight?
labels?) that a function computes from an event, so it runs with the rulebook in the worker and
without it in a replay. Per-scope state (`ScopeState`) is JSON, one key per scope, so several workers
can share it with optimistic locking:

    facts = facts_from_verdict(event, verdict)           # or facts_without_rulebook(event)
    keys = engine.scopes(facts)                           # load these ScopeStates (missing: ScopeState())
    signals, states = engine.observe(facts, states)      # save `states` back, retry on conflict
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.crisis.spike import Duration, SpikeAlert, SpikeDetector, SpikeParams, SpikeState
from bot.events import Event, JsonScalar, Verdict

SignalKind = Literal["volume_spike", "negative_spike", "rating_burst", "reach", "rule"]
SIGNAL_KINDS: tuple[SignalKind, ...] = ("volume_spike", "negative_spike", "rating_burst", "reach", "rule")
STRENGTH_CAP = 3.0  # one signal, however extreme, is worth at most three opening thresholds


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Weights(_Strict):
    """How much one signal of each kind weighs against `DetectionConfig.open_threshold`."""

    volume_spike: float = Field(default=0.5, ge=0, description="Volume alone is often good news.")
    negative_spike: float = Field(default=1.0, ge=0, description="A negative spike opens an incident.")
    rating_burst: float = Field(default=1.0, ge=0, description="Review bombing opens an incident.")
    reach: float = Field(
        default=0.5,
        ge=0,
        description="Grows with log10 of reach: at 10× min_followers a critic opens an incident alone.",
    )
    rule: float = Field(default=1.0, ge=0, description="Multiplies the rulebook's crisis score.")

    def of(self, kind: SignalKind) -> float:
        weight: float = getattr(self, kind)
        return weight


class ReachConfig(_Strict):
    min_followers: int = Field(
        default=10_000, ge=1, description="A journalist or an influencer, not a regular."
    )


class RatingBurstConfig(_Strict):
    max_stars: int = Field(default=2, ge=1, le=4)
    count: int = Field(default=5, ge=2, description="At least this many low ratings within `within`...")
    within: Duration = timedelta(hours=1)
    baseline_factor: float = Field(default=3.0, ge=1, description="...and this many times the usual rate.")
    baseline_halflife: Duration = timedelta(days=7)
    cooldown: Duration = timedelta(hours=1)


class DetectionConfig(_Strict):
    """The `detection:` section of rules/escalation.yaml."""

    spike: SpikeParams = SpikeParams()
    weights: Weights = Weights()
    reach: ReachConfig = ReachConfig()
    rating_burst: RatingBurstConfig = RatingBurstConfig()
    open_threshold: float = Field(default=1.0, gt=0, description="Signal pressure that opens an incident.")
    window: Duration = Field(default=timedelta(hours=1), description="Signals add up over this window.")
    major: float = Field(default=3.0, gt=0, description="Incident score from which severity is major.")
    critical: float = Field(default=6.0, gt=0, description="Incident score from which severity is critical.")
    negative_sentiment: float = Field(default=-0.3, le=0, description="Sentiment at or below is negative.")
    default_brand: str = Field(default="self", min_length=1, description="Brand scope of events naming none.")
    scope_labels: tuple[str, ...] | None = Field(
        default=None, description="Labels that get their own spike scope; None: every label."
    )


class EventFacts(_Strict):
    """What the signals need to know about one event, whoever computed it."""

    event_id: str
    at: datetime
    source: str
    brand: str | None = None
    negative: bool = False
    crisis_weight: float = 0.0
    crisis_rules: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    rating: int | None = None
    followers: int | None = None
    author: str = ""


FactsFn = Callable[[Event], EventFacts]


def facts_without_rulebook(event: Event) -> EventFacts:
    """The fallback when no rulebook is loaded: a rating of 1 or 2 stars is negative, no rule weighs."""
    return _facts(event, negative=event.rating is not None and event.rating <= 2)


def facts_from_verdict(event: Event, verdict: Verdict, *, negative_sentiment: float = -0.3) -> EventFacts:
    negative = (
        (verdict.sentiment is not None and verdict.sentiment <= negative_sentiment)
        or (event.rating is not None and event.rating <= 2)
        or "negative" in verdict.labels
    )
    rules = tuple(dict.fromkeys(action.rule for action in verdict.live_actions("signal")))
    return _facts(event, negative=negative, weight=verdict.crisis_score, rules=rules, labels=verdict.labels)


def _facts(
    event: Event,
    *,
    negative: bool,
    weight: float = 0.0,
    rules: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
) -> EventFacts:
    return EventFacts(
        event_id=event.id,
        at=event.created_at,
        source=event.source,
        brand=event.brand,
        negative=negative,
        crisis_weight=weight,
        crisis_rules=rules,
        labels=labels,
        rating=event.rating,
        followers=event.author.followers,
        author=event.author.id,
    )


class Signal(_Strict):
    kind: SignalKind
    scope: str = Field(description="Where it was measured: brand:…, source:… or label:….")
    incident_scope: str = Field(description="The brand scope an incident about it belongs to.")
    at: datetime
    score: float = Field(description="Raw measure: z for spikes, followers for reach, weight for rules.")
    strength: float = Field(description="Weighted, comparable to the open threshold.")
    pressure: float = Field(default=0.0, description="Strength of the scope's signals within the window.")
    event_id: str | None = None
    detail: dict[str, JsonScalar] = Field(default_factory=dict)


@dataclass
class ScopeState:
    volume: SpikeState = field(default_factory=SpikeState)
    negative: SpikeState = field(default_factory=SpikeState)
    first_seen: float | None = None
    low_ratings: list[float] = field(default_factory=list)  # epoch seconds within the burst window
    rating_rate: float = 0.0  # exponentially decayed count of low ratings
    rating_rate_at: float | None = None
    rating_alert: float | None = None
    rating_alert_count: int = 0
    recent: list[tuple[float, float]] = field(default_factory=list)  # (epoch, strength) of signals

    def to_json(self) -> str:
        data: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k not in ("volume", "negative")}
        data["volume"] = self.volume.to_data()
        data["negative"] = self.negative.to_data()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ScopeState:
        """Read a stored state; a damaged one restarts learning rather than failing every event."""
        try:
            return cls._from_data(json.loads(text))
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls()

    @classmethod
    def _from_data(cls, data: Any) -> ScopeState:
        return cls(
            volume=SpikeState.from_data(data["volume"]),
            negative=SpikeState.from_data(data["negative"]),
            first_seen=data["first_seen"],
            low_ratings=[float(x) for x in data["low_ratings"]],
            rating_rate=float(data["rating_rate"]),
            rating_rate_at=data["rating_rate_at"],
            rating_alert=data["rating_alert"],
            rating_alert_count=int(data["rating_alert_count"]),
            recent=[(float(a), float(b)) for a, b in data["recent"]],
        )


class SignalEngine:
    def __init__(self, config: DetectionConfig | None = None) -> None:
        self.config = config or DetectionConfig()
        self.spikes = SpikeDetector(self.config.spike)

    def brand_scope(self, facts: EventFacts) -> str:
        return f"brand:{facts.brand or self.config.default_brand}"

    def scopes(self, facts: EventFacts) -> tuple[str, ...]:
        """The state keys an event touches: its brand, its source and its topic labels."""
        allowed = self.config.scope_labels
        labels = [f"label:{x}" for x in facts.labels if allowed is None or x in allowed]
        return (self.brand_scope(facts), f"source:{facts.source}", *dict.fromkeys(labels))

    def observe(
        self, facts: EventFacts, states: Mapping[str, ScopeState]
    ) -> tuple[list[Signal], dict[str, ScopeState]]:
        """Feed one event to every scope it belongs to; return its signals and the new states."""
        at, ts = facts.at, facts.at.timestamp()
        home = self.brand_scope(facts)
        signals: list[Signal] = []
        new: dict[str, ScopeState] = {}
        for scope in self.scopes(facts):
            state = _copy(states.get(scope) or ScopeState())
            if state.first_seen is None:
                state.first_seen = ts
            state.volume, alert = self.spikes.observe(state.volume, at, 1.0)
            if alert is not None:
                signals.append(self._spike("volume_spike", scope, home, alert, facts))
            # Every event advances the negative series too, so its baseline includes the quiet hours.
            state.negative, alert = self.spikes.observe(state.negative, at, 1.0 if facts.negative else 0.0)
            if alert is not None:
                signals.append(self._spike("negative_spike", scope, home, alert, facts))
            burst = self._rating_burst(state, facts, ts)
            if burst is not None:
                signals.append(self._signal("rating_burst", scope, home, facts, *burst))
            new[scope] = state
        signals.extend(self._event_signals(facts, home))
        self._add_pressure(signals, new, ts)
        return signals, new

    # -- one event's own signals ----------------------------------------------------------------

    def _event_signals(self, facts: EventFacts, home: str) -> list[Signal]:
        out = []
        followers = facts.followers or 0
        reach = self.config.reach.min_followers
        if followers >= reach and (facts.negative or facts.crisis_weight > 0 or "crisis" in facts.labels):
            factor = 1.0 + math.log10(followers / reach)
            out.append(
                self._signal("reach", home, home, facts, float(followers), factor, {"author": facts.author})
            )
        if facts.crisis_weight > 0:
            rules = ",".join(facts.crisis_rules)
            out.append(
                self._signal(
                    "rule", home, home, facts, facts.crisis_weight, facts.crisis_weight, {"rules": rules}
                )
            )
        return out

    def _rating_burst(
        self, state: ScopeState, facts: EventFacts, ts: float
    ) -> tuple[float, float, dict[str, JsonScalar]] | None:
        cfg = self.config.rating_burst
        if facts.rating is None or facts.rating > cfg.max_stars:
            return None
        within, halflife = cfg.within.total_seconds(), cfg.baseline_halflife.total_seconds()
        state.low_ratings = [*[t for t in state.low_ratings if ts - within < t <= ts][-200:], ts]
        # Usual rate of low ratings: a decayed count over its time constant. Until a day has passed the
        # elapsed time is taken as a day, so the first bad reviews on a new scope still look unusual.
        decay = 0.5 ** (max(ts - (state.rating_rate_at or ts), 0.0) / halflife)
        elapsed = max(ts - (state.first_seen or ts), 86400.0)
        horizon = halflife / math.log(2) * (1.0 - 0.5 ** (elapsed / halflife))
        usual = state.rating_rate * decay / horizon * within
        state.rating_rate, state.rating_rate_at = state.rating_rate * decay + 1.0, ts
        count = len(state.low_ratings)
        needed = max(float(cfg.count), cfg.baseline_factor * usual)
        if count < needed:
            return None
        cooling = state.rating_alert is not None and ts - state.rating_alert < cfg.cooldown.total_seconds()
        if cooling and count < 2 * state.rating_alert_count:
            return None
        state.rating_alert, state.rating_alert_count = ts, count
        detail: dict[str, JsonScalar] = {"count": count, "usual": round(usual, 2), "within_s": int(within)}
        return float(count), count / needed, detail

    # -- helpers --------------------------------------------------------------------------------

    def _spike(self, kind: SignalKind, scope: str, home: str, alert: SpikeAlert, facts: EventFacts) -> Signal:
        detail: dict[str, JsonScalar] = {
            "count": alert.count,
            "expected": round(alert.expected, 2),
            "bucket_s": int(self.config.spike.seconds),
        }
        return self._signal(
            kind, scope, home, facts, alert.score, alert.score / self.config.spike.threshold, detail
        )

    def _signal(
        self,
        kind: SignalKind,
        scope: str,
        home: str,
        facts: EventFacts,
        score: float,
        factor: float,
        detail: dict[str, JsonScalar] | None = None,
    ) -> Signal:
        strength = self.config.weights.of(kind) * min(factor, STRENGTH_CAP)
        return Signal(
            kind=kind,
            scope=scope,
            incident_scope=home,
            at=facts.at,
            score=round(score, 3),
            strength=round(strength, 3),
            event_id=facts.event_id,
            detail=detail or {},
        )

    def _add_pressure(self, signals: list[Signal], states: dict[str, ScopeState], ts: float) -> None:
        horizon = ts - self.config.window.total_seconds()
        for state in states.values():
            state.recent = [(t, s) for t, s in state.recent if t > horizon]
        for signal in signals:
            target = states.get(signal.scope)
            if target is not None:
                target.recent = [*target.recent, (ts, signal.strength)][-100:]
        for i, signal in enumerate(signals):
            target = states.get(signal.scope)
            pressure = sum(s for _, s in target.recent) if target is not None else signal.strength
            signals[i] = signal.model_copy(update={"pressure": round(pressure, 3)})


def _copy(state: ScopeState) -> ScopeState:
    return ScopeState(
        volume=state.volume,
        negative=state.negative,
        first_seen=state.first_seen,
        low_ratings=list(state.low_ratings),
        rating_rate=state.rating_rate,
        rating_rate_at=state.rating_rate_at,
        rating_alert=state.rating_alert,
        rating_alert_count=state.rating_alert_count,
        recent=list(state.recent),
    )
