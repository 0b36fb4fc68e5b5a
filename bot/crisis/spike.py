"""Spike detection on a stream of counts, read causally, one bucket (5 minutes by default) at a time.

The baseline is a slow level times an hour-of-day factor times a day-of-week factor, learnt online.
A bucket is scored by `z = (count - expected) / sqrt(variance + expected + 1)`: the EWMA variance of
the residuals covers over-dispersed high-volume streams, the `expected` term is the Poisson noise of
low-volume ones, and the `+ 1` keeps a near-silent stream from paging on two messages. A spike alerts
when `z > threshold` and the count reaches `min_count`.

Measured on the NAB realTweets series (benchmarks/crisis.py): the slow half-lives (about a day) matter
most; a fast EWMA (α = 0.01) lets one spike inflate the variance for hours and hide the next one,
while a slow one remembers that a stream is spiky without forgetting it is usually quiet.

State is a small JSON-serialisable object so that several workers can share it (one key per series,
updated with optimistic locking); every function here is pure: it returns a new state.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from bot.durations import parse_duration

STATE_VERSION = 1
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class SpikeParams(BaseModel):
    """Every tunable of the detector, each with the reason for its default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: Duration = Field(default=timedelta(minutes=5), description="Counting interval.")
    threshold: float = Field(default=5.5, gt=0, description="z above which a bucket is a spike.")
    min_count: int = Field(
        default=3, ge=1, description="Floor: fewer events than this in a bucket never alert, whatever z."
    )
    level_halflife: Duration = Field(
        default=timedelta(hours=29), description="About a day: follows drifts, not a spike's hour."
    )
    variance_halflife: Duration = Field(
        default=timedelta(hours=29), description="Remembers a stream's spikiness for about a day."
    )
    hour_rate: float = Field(default=0.01, gt=0, lt=1, description="Learning rate of hour-of-day factors.")
    weekday_rate: float = Field(default=0.002, gt=0, lt=1, description="Learning rate of weekday factors.")
    spike_clip: float = Field(
        default=3.0, gt=0, description="Counts above expected + clip·sd enter the baseline clipped."
    )
    warmup: Duration = Field(default=timedelta(days=1), description="No alert before a day of history.")
    cooldown: Duration = Field(default=timedelta(hours=1), description="Quiet time after an alert...")
    escalation: float = Field(
        default=2.0, ge=1, description="...unless z reaches this multiple of the last alert's z."
    )
    late_tolerance: Duration = Field(
        default=timedelta(hours=1),
        description="Later events count in the open bucket; older ones are a backfill.",
    )
    max_gap: Duration = Field(
        default=timedelta(days=14), description="Longer silences are not replayed bucket by bucket."
    )
    timezone: str = Field(default="UTC", description="Where hours of the day are counted.")

    @field_validator("bucket", "level_halflife", "variance_halflife")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("must be longer than zero")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @cached_property
    def seconds(self) -> float:
        return self.bucket.total_seconds()

    @cached_property
    def level_alpha(self) -> float:
        return _alpha(self.bucket, self.level_halflife)

    @cached_property
    def variance_alpha(self) -> float:
        return _alpha(self.bucket, self.variance_halflife)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _alpha(step: timedelta, halflife: timedelta) -> float:
    return 1.0 - math.pow(0.5, step.total_seconds() / max(halflife.total_seconds(), 1e-9))


@dataclass(frozen=True)
class SpikeAlert:
    at: datetime
    score: float
    count: float
    expected: float
    bucket_start: datetime


@dataclass
class SpikeState:
    """One series' detector state. `level` and `variance` are raw EWMA accumulators started at 0;
    dividing by `1 - (1 - α)^n` gives unbiased estimates from the first bucket on."""

    bucket: int | None = None  # index of the open bucket (epoch seconds // bucket seconds)
    count: float = 0.0  # events so far in the open bucket
    closed: int = 0  # buckets closed so far, empty ones included
    level: float = 0.0
    variance: float = 0.0
    hours: list[float] = field(default_factory=lambda: [1.0] * 24)
    weekdays: list[float] = field(default_factory=lambda: [1.0] * 7)
    last_alert: float | None = None  # epoch seconds
    last_score: float = 0.0
    alerted_bucket: int | None = None

    def to_json(self) -> str:
        return json.dumps(self.to_data(), separators=(",", ":"))

    def to_data(self) -> dict[str, Any]:
        """The JSON-ready form, for a container that serialises several states in one document."""
        return {
            "v": STATE_VERSION,
            "bucket": self.bucket,
            "count": self.count,
            "closed": self.closed,
            "level": self.level,
            "variance": self.variance,
            "hours": self.hours,
            "weekdays": self.weekdays,
            "last_alert": self.last_alert,
            "last_score": self.last_score,
            "alerted_bucket": self.alerted_bucket,
        }

    @classmethod
    def from_json(cls, text: str | bytes) -> SpikeState:
        """Read a stored state. An unknown or damaged layout restarts learning: a detector that
        relearns for a day is better than a worker that fails on every event."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            return cls()
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> SpikeState:
        """`from_json` of an already parsed document (`to_data`'s form); damaged: a fresh state."""
        try:
            if data.get("v") != STATE_VERSION:
                return cls()
            hours = [float(x) for x in data["hours"]]
            weekdays = [float(x) for x in data["weekdays"]]
            if len(hours) != 24 or len(weekdays) != 7:
                return cls()
            return cls(
                bucket=_int_or_none(data["bucket"]),
                count=float(data["count"]),
                closed=int(data["closed"]),
                level=float(data["level"]),
                variance=float(data["variance"]),
                hours=hours,
                weekdays=weekdays,
                last_alert=None if data["last_alert"] is None else float(data["last_alert"]),
                last_score=float(data["last_score"]),
                alerted_bucket=_int_or_none(data["alerted_bucket"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls()

    def copy(self) -> SpikeState:
        return replace(self, hours=list(self.hours), weekdays=list(self.weekdays))


class SpikeDetector:
    """Stateless logic over `SpikeState`: one detector serves every series with the same params."""

    def __init__(self, params: SpikeParams | None = None) -> None:
        self.params = params or SpikeParams()

    # -- public ---------------------------------------------------------------------------------

    def observe(
        self, state: SpikeState, at: datetime, count: float = 1.0
    ) -> tuple[SpikeState, SpikeAlert | None]:
        """Add `count` events at `at`; return the new state and an alert when the open bucket has just
        become a spike. The open bucket is scored as it fills, so an alert comes with the event that
        crosses the threshold rather than when the bucket closes."""
        ts = _epoch(at)
        index = int(ts // self.params.seconds)
        new = state.copy()
        if new.bucket is not None and index < new.bucket:
            if (new.bucket - index) * self.params.seconds > self.params.late_tolerance.total_seconds():
                return state, None  # a backfill describes the past; it must not page anyone now
            index = new.bucket
        self._roll(new, index)
        new.count += count
        return new, self._score(new, ts)

    def advance(self, state: SpikeState, now: datetime) -> SpikeState:
        """Close buckets up to `now` without adding events (a periodic tick, or before reading)."""
        index = int(_epoch(now) // self.params.seconds)
        if state.bucket is not None and index <= state.bucket:
            return state
        new = state.copy()
        self._roll(new, index)
        return new

    def expected(self, state: SpikeState, bucket: int | None = None) -> tuple[float, float]:
        """Expected count and noise sd for a bucket (the open one by default)."""
        index = state.bucket if bucket is None else bucket
        if index is None or state.closed == 0:
            return 0.0, 1.0
        factor = self._factor(state, index)
        mean = self._level(state) * factor
        variance = state.variance / (1.0 - (1.0 - self.params.variance_alpha) ** state.closed)
        return mean, math.sqrt(variance + mean + 1.0)

    # -- internals ------------------------------------------------------------------------------

    def _score(self, state: SpikeState, ts: float) -> SpikeAlert | None:
        p = self.params
        assert state.bucket is not None
        if state.closed * p.seconds < p.warmup.total_seconds() or state.count < p.min_count:
            return None
        mean, sd = self.expected(state)
        z = (state.count - mean) / sd
        if state.bucket == state.alerted_bucket:
            # One alert per bucket: as the alerted bucket fills, its z becomes the bar to double.
            state.last_score = max(state.last_score, z)
            return None
        if z <= p.threshold:
            return None
        # A cooldown that swallowed everything could hide the alert nearest the real start of a crisis
        # (FIELD-NOTES); a spike clearly bigger than the last alerted one still gets through.
        cooling = state.last_alert is not None and ts - state.last_alert < p.cooldown.total_seconds()
        if cooling and z < p.escalation * state.last_score:
            return None
        state.last_alert, state.last_score, state.alerted_bucket = ts, z, state.bucket
        start = datetime.fromtimestamp(state.bucket * p.seconds, UTC)
        return SpikeAlert(
            at=datetime.fromtimestamp(ts, UTC), score=z, count=state.count, expected=mean, bucket_start=start
        )

    def _roll(self, state: SpikeState, index: int) -> None:
        if state.bucket is None:
            state.bucket, state.count = index, 0.0
            return
        if index <= state.bucket:
            return
        self._close(state, state.bucket, state.count)
        gap = index - state.bucket - 1
        limit = int(self.params.max_gap.total_seconds() // self.params.seconds)
        for empty in range(state.bucket + 1, state.bucket + 1 + min(gap, limit)):
            self._close(state, empty, 0.0)
        state.bucket, state.count = index, 0.0

    def _close(self, state: SpikeState, index: int, x: float) -> None:
        p = self.params
        hour, weekday = self._slot(index)
        factor = state.hours[hour] * state.weekdays[weekday]
        mean, sd = self.expected(state, index)
        residual = x - mean
        av, al = p.variance_alpha, p.level_alpha
        state.variance = (1.0 - av) * (state.variance + av * residual * residual)
        # A spike enters the baseline clipped, so one crisis does not become tomorrow's normal; the
        # variance above takes it whole, which is what keeps a spiky stream's aftershocks quiet.
        clipped = min(x, mean + p.spike_clip * sd)
        state.level = (1.0 - al) * state.level + al * clipped / factor
        state.closed += 1
        level = self._level(state)
        state.hours[hour] += p.hour_rate * (
            _ratio(clipped, level * state.weekdays[weekday]) - state.hours[hour]
        )
        _normalise(state.hours)
        state.weekdays[weekday] += p.weekday_rate * (
            _ratio(clipped, level * state.hours[hour]) - state.weekdays[weekday]
        )
        _normalise(state.weekdays)

    def _level(self, state: SpikeState) -> float:
        if state.closed == 0:
            return 0.0
        return state.level / (1.0 - (1.0 - self.params.level_alpha) ** state.closed)

    def _factor(self, state: SpikeState, index: int) -> float:
        hour, weekday = self._slot(index)
        return state.hours[hour] * state.weekdays[weekday]

    def _slot(self, index: int) -> tuple[int, int]:
        local = datetime.fromtimestamp(index * self.params.seconds, self.params.zone)
        return local.hour, local.weekday()


def _ratio(x: float, base: float) -> float:
    # +1 on both sides keeps near-empty hours from swinging the factors; the clamp bounds one bucket's say.
    return min(max((x + 1.0) / (base + 1.0), 0.2), 3.0)


def _normalise(factors: list[float]) -> None:
    mean = sum(factors) / len(factors)
    if mean > 0:
        for i, value in enumerate(factors):
            factors[i] = value / mean


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
