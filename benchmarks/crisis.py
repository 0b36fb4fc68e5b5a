"""Score crisis spike detection on the ten NAB realTweets series, read causally, next to the plain
causal EWMA z-score baseline, in the same run.

    /work/venv/bin/python benchmarks/crisis.py [--data DIR] [--threshold Z] [--cooldown 1h] [--json]

Measures, per stream and in total:
- caught: labelled instants (`labels.json`) with an alert from 30 min before to 2 h after;
- delay: the median, over caught instants, of the first such alert's time minus the instant;
- strays per stream-week: alerts first merged with a 2-hour cooldown, then counted when outside
  every window of `labels_windows.json` (each widened 30 min at its start).
Catches count the detector's own alerts; only strays are merged, so a detector is not rewarded for
alerting once per bucket during a spike.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.crisis.spike import SpikeDetector, SpikeParams, SpikeState
from bot.durations import parse_duration

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab-realtweets"
BEFORE = timedelta(minutes=30)
AFTER = timedelta(hours=2)
MERGE = timedelta(hours=2)
WINDOW_LEAD = timedelta(minutes=30)

Series = list[tuple[datetime, float]]
Detector = Callable[[Series], list[datetime]]


def read_series(path: Path) -> Series:
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        return [(_time(stamp), float(value)) for stamp, value in rows]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ewma_baseline(alpha: float = 0.01, z: float = 6.0, floor: float = 3.0) -> Detector:
    """The reference: causal EWMA mean and variance of 5-minute counts, alert when z > 6 and the
    count is at least 3 (FIELD-NOTES)."""

    def run(series: Series) -> list[datetime]:
        alerts: list[datetime] = []
        mean, variance = series[0][1], 0.0
        for at, x in series[1:]:
            sd = math.sqrt(variance)
            if x >= floor and sd > 0 and (x - mean) / sd > z:
                alerts.append(at)
            delta = x - mean
            mean += alpha * delta
            variance = (1 - alpha) * (variance + alpha * delta * delta)
        return alerts

    return run


def vigie_detector(params: SpikeParams) -> Detector:
    detector = SpikeDetector(params)

    def run(series: Series) -> list[datetime]:
        state, alerts = SpikeState(), []
        for at, x in series:
            state, alert = detector.observe(state, at, x)
            if alert is not None:
                alerts.append(alert.at)
        return alerts

    return run


@dataclass
class Score:
    caught: int
    labelled: int
    delays: list[float]
    strays: int
    weeks: float


def merge(alerts: Iterable[datetime]) -> list[datetime]:
    kept: list[datetime] = []
    for at in alerts:
        if not kept or at - kept[-1] >= MERGE:
            kept.append(at)
    return kept


def score(
    alerts: Sequence[datetime],
    series: Series,
    instants: Sequence[datetime],
    windows: Sequence[tuple[datetime, datetime]],
) -> Score:
    delays = []
    for instant in instants:
        near = [at for at in alerts if instant - BEFORE <= at <= instant + AFTER]
        if near:
            delays.append((near[0] - instant).total_seconds() / 60)
    strays = sum(1 for at in merge(alerts) if not any(a - WINDOW_LEAD <= at <= b for a, b in windows))
    weeks = (series[-1][0] - series[0][0]).total_seconds() / (7 * 86400)
    return Score(len(delays), len(instants), delays, strays, weeks)


def total(scores: Sequence[Score]) -> Score:
    return Score(
        sum(s.caught for s in scores),
        sum(s.labelled for s in scores),
        [d for s in scores for d in s.delays],
        sum(s.strays for s in scores),
        sum(s.weeks for s in scores),
    )


def describe(name: str, s: Score) -> str:
    delay = f"{median(s.delays):+.0f} min" if s.delays else "n/a"
    rate = s.strays / s.weeks
    return f"{name:<6} caught {s.caught:>2}/{s.labelled:<2} median delay {delay:>8}  strays/week {rate:5.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threshold", type=float, default=None, help="override the detector's z threshold")
    parser.add_argument("--cooldown", default=None, help="override the detector's cooldown (e.g. 0s, 1h)")
    parser.add_argument("--json", action="store_true", help="print the totals as one JSON line as well")
    args = parser.parse_args(argv)

    overrides: dict[str, object] = {}
    if args.threshold is not None:
        overrides["threshold"] = args.threshold
    if args.cooldown is not None:
        overrides["cooldown"] = parse_duration(args.cooldown)
    params = SpikeParams.model_validate(overrides)
    labels = json.loads((args.data / "labels.json").read_text())
    windows = json.loads((args.data / "labels_windows.json").read_text())
    detectors: dict[str, Detector] = {"vigie": vigie_detector(params), "ewma": ewma_baseline()}
    results: dict[str, list[Score]] = {name: [] for name in detectors}

    print(f"vigie spike detector: {params.model_dump(mode='json')}")
    print("ewma baseline: alpha 0.01, z > 6, count floor 3\n")
    for path in sorted(args.data.glob("Twitter_volume_*.csv")):
        key = f"realTweets/{path.name}"
        series = read_series(path)
        instants = [_time(t) for t in labels[key]]
        spans = [(_time(a), _time(b)) for a, b in windows[key]]
        stream = path.stem.removeprefix("Twitter_volume_")
        for name, detector in detectors.items():
            result = score(detector(series), series, instants, spans)
            results[name].append(result)
            print(f"{stream:<5} {describe(name, result)}")
    print()
    totals = {name: total(scores) for name, scores in results.items()}
    for name, result in totals.items():
        print(f"TOTAL {describe(name, result)}")
    if args.json:
        print(
            json.dumps(
                {
                    name: {
                        "caught": s.caught,
                        "labelled": s.labelled,
                        "median_delay_min": median(s.delays) if s.delays else None,
                        "strays_per_stream_week": round(s.strays / s.weeks, 3),
                    }
                    for name, s in totals.items()
                }
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
