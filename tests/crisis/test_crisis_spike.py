"""The spike detector: causal, seasonal baseline, floor, warm-up, cooldown, JSON state."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.crisis.spike import SpikeDetector, SpikeParams, SpikeState

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
BUCKET = timedelta(minutes=5)


def feed(
    detector: SpikeDetector, state: SpikeState, counts: list[float], start: datetime = T0
) -> tuple[SpikeState, list[tuple[datetime, float]]]:
    alerts = []
    for i, count in enumerate(counts):
        state, alert = detector.observe(state, start + i * BUCKET, count)
        if alert is not None:
            alerts.append((alert.at, alert.score))
    return state, alerts


def noisy(n: int, mean: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    # Poisson by inversion keeps the test free of numpy and deterministic.
    out = []
    for _ in range(n):
        k, p, limit = 0, 1.0, 2.718281828**-mean
        while True:
            p *= rng.random()
            if p <= limit:
                break
            k += 1
        out.append(float(k))
    return out


def test_a_quiet_stream_then_a_burst_alerts_once_at_the_burst() -> None:
    detector = SpikeDetector()
    quiet = noisy(3 * 288, 2.0)
    _, alerts = feed(detector, SpikeState(), [*quiet, 40.0, 3.0, 2.0])
    assert [at for at, _ in alerts] == [T0 + len(quiet) * BUCKET]


def test_no_alert_during_warmup_and_none_under_the_floor() -> None:
    detector = SpikeDetector()
    _, early = feed(detector, SpikeState(), [0.0] * 100 + [50.0])
    assert early == []
    floor = SpikeDetector(SpikeParams(min_count=3))
    _, small = feed(floor, SpikeState(), [0.0] * 400 + [2.0])
    assert small == []
    _, big = feed(floor, SpikeState(), [0.0] * 400 + [8.0])
    assert len(big) == 1


def test_the_alert_comes_with_the_event_that_crosses_not_at_bucket_end() -> None:
    detector = SpikeDetector()
    state, _ = feed(detector, SpikeState(), [1.0] * 400)
    burst_start = T0 + 400 * BUCKET
    alerts = []
    for second in range(0, 300, 10):
        state, alert = detector.observe(state, burst_start + timedelta(seconds=second))
        if alert is not None:
            alerts.append(alert)
    assert len(alerts) == 1
    assert alerts[0].at < burst_start + timedelta(seconds=120)
    assert alerts[0].bucket_start == burst_start


def test_cooldown_holds_a_repeat_but_not_a_worse_spike() -> None:
    detector = SpikeDetector(SpikeParams(cooldown=timedelta(hours=1), escalation=2.0))
    base = noisy(2 * 288, 2.0, seed=3)
    _, alerts = feed(detector, SpikeState(), [*base, 30.0, 2.0, 30.0, 2.0, 200.0])
    times = [at for at, _ in alerts]
    first = T0 + len(base) * BUCKET
    assert times == [first, first + 4 * BUCKET]  # the second 30 is held, the 200 gets through
    _, later = feed(detector, SpikeState(), [*base, 30.0, *([2.0] * 24), 30.0])
    assert len(later) == 2  # after the cooldown the same spike alerts again


def test_baseline_follows_the_day_and_the_week() -> None:
    detector = SpikeDetector()
    counts = []
    for i in range(21 * 288):
        at = T0 + i * BUCKET
        busy = 9 <= at.hour < 18
        weekend = at.weekday() >= 5
        counts.append((20.0 if busy else 2.0) * (0.3 if weekend else 1.0))
    state, alerts = feed(detector, SpikeState(), counts)
    assert alerts == []  # the morning ramp and the weekend are normal once learnt

    def expected(at: datetime) -> float:
        return detector.expected(state, int(at.timestamp() // 300))[0]

    monday = T0 + timedelta(days=21)
    assert expected(monday.replace(hour=12)) > 4 * expected(monday.replace(hour=3))
    assert expected(monday.replace(hour=12)) > 2 * expected(monday.replace(hour=12) + timedelta(days=5))


def test_state_survives_json_and_replay_is_causal() -> None:
    detector = SpikeDetector()
    counts = [*noisy(700, 3.0, seed=5), 35.0, *noisy(300, 3.0, seed=6), 60.0]
    _, whole = feed(detector, SpikeState(), counts)
    state, first = feed(detector, SpikeState(), counts[:650])
    restored = SpikeState.from_json(state.to_json())
    _, second = feed(detector, restored, counts[650:], start=T0 + 650 * BUCKET)
    assert [at for at, _ in first + second] == [at for at, _ in whole]
    assert len(whole) == 2


def test_late_events_count_in_the_open_bucket_and_backfills_are_ignored() -> None:
    detector = SpikeDetector(SpikeParams(late_tolerance=timedelta(hours=1)))
    state, _ = feed(detector, SpikeState(), [1.0] * 400)
    now = T0 + 400 * BUCKET
    state, _ = detector.observe(state, now)
    state, _ = detector.observe(state, now - timedelta(minutes=20))
    assert state.count == 2.0
    unchanged, alert = detector.observe(state, now - timedelta(days=2), 500.0)
    assert alert is None and unchanged.count == 2.0


def test_a_long_silence_is_capped_and_the_stream_resumes() -> None:
    detector = SpikeDetector(SpikeParams(max_gap=timedelta(days=1)))
    state, _ = feed(detector, SpikeState(), [5.0] * 400)
    closed = state.closed
    state, _ = detector.observe(state, T0 + timedelta(days=90))
    assert state.closed == closed + 1 + 288  # the open bucket, then one day of empty buckets
    assert state.bucket == int((T0 + timedelta(days=90)).timestamp() // 300)


def test_an_unknown_state_layout_restarts_learning() -> None:
    assert SpikeState.from_json('{"v": 99}') == SpikeState()
