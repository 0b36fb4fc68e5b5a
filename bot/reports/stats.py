"""Summary statistics the KPIs use, with definitions simple enough to check by hand."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict


class TimeStats(BaseModel):
    """Durations in seconds: how many, their median and 90th percentile (None when there are none)."""

    model_config = ConfigDict(frozen=True)

    count: int = 0
    median_s: float | None = None
    p90_s: float | None = None


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle ones for an even count."""
    return float(statistics.median(values)) if values else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value that at least `share` of the values do not exceed.
    Chosen over interpolation because it is always one of the measured durations."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return float(ordered[rank - 1])


def time_stats(seconds: Sequence[float]) -> TimeStats:
    return TimeStats(count=len(seconds), median_s=median(seconds), p90_s=percentile(seconds, 0.9))


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
