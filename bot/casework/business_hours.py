"""Business-time arithmetic in a team's time zone: "8 working hours after this message" and "how many
working hours between these two instants", across weekends, closed days and DST changes.

Every opening range is turned into a pair of UTC instants before any arithmetic, because subtracting
two aware datetimes that share a `ZoneInfo` ignores the offset change between them (a 25-hour
Sunday in October would count as 24). A range whose end is not after its start (`09:00-00:00`,
`22:00-06:00`) runs past midnight into the next day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.workspace import Team, WorkingHours

# A calendar with no opening at all would loop forever; a year of closed days means "never".
_HORIZON_DAYS = 366


class Calendar:
    """The opening hours of one team. `always_open` ignores the hours (24/7 SLA policies)."""

    def __init__(self, hours: WorkingHours, timezone: str, *, always_open: bool = False) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {timezone!r}") from error
        self.hours = hours
        self.always_open = always_open

    @classmethod
    def for_team(cls, team: Team, *, always_open: bool = False) -> Calendar:
        return cls(team.working_hours, team.timezone, always_open=always_open)

    def _day_ranges(self, day: date) -> list[tuple[datetime, datetime]]:
        out = []
        for start, end in self.hours.for_weekday(day.weekday()):
            end_day = day if end > start else day + timedelta(days=1)
            lo = datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC)
            hi = datetime.combine(end_day, end, tzinfo=self.zone).astimezone(UTC)
            if hi > lo:
                out.append((lo, hi))
        return sorted(out)

    def openings(self, after: datetime) -> Iterator[tuple[datetime, datetime]]:
        """UTC opening intervals that end after `after`, clipped to start no earlier than it."""
        after = after.astimezone(UTC)
        # Start a day early: yesterday's overnight range may still be running.
        day = after.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(_HORIZON_DAYS + 2):
            for lo, hi in self._day_ranges(day):
                if hi > after:
                    yield max(lo, after), hi
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        at = at.astimezone(UTC)
        return any(lo <= at < hi for lo, hi in self._ranges_around(at))

    def _ranges_around(self, at: datetime) -> list[tuple[datetime, datetime]]:
        day = at.astimezone(self.zone).date()
        return self._day_ranges(day - timedelta(days=1)) + self._day_ranges(day)

    def next_open(self, at: datetime) -> datetime | None:
        """`at` itself when open, else the next opening; None when the calendar never opens."""
        if self.always_open:
            return at
        for lo, _hi in self.openings(at):
            return lo
        return None

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of business time has passed since `start`."""
        if self.always_open:
            return start + duration
        left = duration
        for lo, hi in self.openings(start):
            span = hi - lo
            if left <= span:
                return lo + left
            left -= span
        raise ValueError("the working hours never open: no due time can be computed")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (zero when `end` is not after `start`)."""
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        end = end.astimezone(UTC)
        for lo, hi in self.openings(start):
            if lo >= end:
                break
            total += min(hi, end) - lo
        return total
