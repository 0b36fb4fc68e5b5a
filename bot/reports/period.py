"""Report periods: `--since 7d` (a duration back from now), `--since 2026-11-01` (a date or time,
local to the report's time zone when naive), `--until` the same way, and the previous period of the
same length, which trends compare against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.durations import parse_duration


class PeriodError(ValueError):
    """A --since/--until that cannot be read; the message names the value."""


@dataclass(frozen=True)
class Period:
    """The half-open interval [start, end), in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PeriodError(
                f"the period is empty: {self.start.isoformat()} is not before {self.end.isoformat()}"
            )

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        return Period(self.start - self.length, self.start)

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    def days(self, zone: ZoneInfo) -> list[date]:
        """Local calendar days the period touches, in order."""
        first = self.start.astimezone(zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def parse_moment(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """`7d`/`12h` back from `now`, `now`, an ISO date (local midnight) or an ISO date-time."""
    value = text.strip()
    if value.lower() == "now":
        return now
    if value and value[0].isdigit() and not any(sep in value for sep in "-:T"):
        try:
            return now - parse_duration(value)
        except ValueError as error:
            raise PeriodError(str(error)) from None
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(0), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(
            f"not a time: {text!r} (use a duration such as 7d or 12h, a date 2026-11-01, or 2026-11-01T09:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_period(since: str, until: str | None, *, now: datetime, timezone: str = "UTC") -> Period:
    zone = ZoneInfo(timezone)
    end = parse_moment(until, now, zone) if until else now
    start = parse_moment(since, end if _is_duration(since) else now, zone)
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def _is_duration(text: str) -> bool:
    # `--since 7d --until 2026-11-01` means the 7 days before the 1st, not 7 days before now.
    value = text.strip()
    return bool(value) and value[0].isdigit() and not any(sep in value for sep in "-:T")
