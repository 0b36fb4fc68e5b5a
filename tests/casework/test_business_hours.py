"""Business-time arithmetic in a team's time zone, across weekends, overnight ranges and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.casework.business_hours import Calendar
from bot.workspace import WorkingHours

OFFICE = [(time(9), time(18))]
WEEKDAYS = WorkingHours(mon=OFFICE, tue=OFFICE, wed=OFFICE, thu=OFFICE, fri=OFFICE)
ALL_DAY = [(time(0), time(0))]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_inside_one_day() -> None:
    cal = Calendar(WEEKDAYS, "Europe/Paris")
    # Wednesday 2026-11-18 10:00 Paris = 09:00Z
    assert cal.add(utc(2026, 11, 18, 9), timedelta(hours=2)) == utc(2026, 11, 18, 11)


def test_rolls_over_the_night_and_the_weekend() -> None:
    cal = Calendar(WEEKDAYS, "Europe/Paris")
    # Friday 2026-11-20 17:00 Paris (16:00Z) + 2h → Monday 10:00 Paris (09:00Z)
    assert cal.add(utc(2026, 11, 20, 16), timedelta(hours=2)) == utc(2026, 11, 23, 9)
    # Saturday: counting starts Monday 09:00 Paris
    assert cal.add(utc(2026, 11, 21, 12), timedelta(minutes=30)) == utc(2026, 11, 23, 8, 30)


def test_across_the_end_of_summer_time_in_paris() -> None:
    """Last Sunday of October 2026 is the 25th: Paris goes from UTC+2 to UTC+1."""
    hours = WorkingHours(mon=OFFICE, tue=OFFICE, wed=OFFICE, thu=OFFICE, fri=OFFICE, sat=OFFICE)
    cal = Calendar(hours, "Europe/Paris")
    saturday_5pm = utc(2026, 10, 24, 15)  # 17:00 CEST
    # 1h left on Saturday, then Monday 09:00 CET = 08:00Z, +1h
    assert cal.add(saturday_5pm, timedelta(hours=2)) == utc(2026, 10, 26, 9)
    assert cal.elapsed(saturday_5pm, utc(2026, 10, 26, 9)) == timedelta(hours=2)


def test_the_day_summer_time_ends_lasts_25_hours() -> None:
    cal = Calendar(WorkingHours(sun=ALL_DAY), "Europe/Paris")
    sunday_start = datetime(2026, 10, 24, 22, tzinfo=UTC)  # Sunday 00:00 CEST
    monday_start = datetime(2026, 10, 25, 23, tzinfo=UTC)  # Monday 00:00 CET
    assert cal.elapsed(sunday_start, monday_start) == timedelta(hours=25)
    assert cal.add(sunday_start, timedelta(hours=25)) == monday_start
    assert not cal.is_open(monday_start)


def test_the_day_summer_time_starts_lasts_23_hours() -> None:
    cal = Calendar(WorkingHours(sun=ALL_DAY), "Europe/Paris")
    sunday_start = datetime(2026, 3, 28, 23, tzinfo=UTC)  # Sunday 29 March 00:00 CET
    monday_start = datetime(2026, 3, 29, 22, tzinfo=UTC)  # Monday 00:00 CEST
    assert cal.elapsed(sunday_start, monday_start) == timedelta(hours=23)


def test_a_range_through_the_repeated_hour() -> None:
    cal = Calendar(WorkingHours(sun=[(time(1), time(4))]), "Europe/Paris")
    start = cal.next_open(utc(2026, 10, 24, 12))
    assert start == utc(2026, 10, 24, 23)  # 01:00 CEST
    assert cal.elapsed(start, utc(2026, 10, 25, 12)) == timedelta(hours=4)  # 01:00 CEST → 04:00 CET


def test_overnight_ranges_run_past_midnight() -> None:
    cal = Calendar(WorkingHours(fri=[(time(22), time(6))]), "UTC")
    assert cal.is_open(utc(2026, 11, 21, 3))  # Saturday 03:00, inside Friday's night shift
    assert cal.add(utc(2026, 11, 20, 12), timedelta(hours=3)) == utc(2026, 11, 21, 1)


def test_open_and_next_open() -> None:
    cal = Calendar(WEEKDAYS, "Europe/Paris")
    assert cal.is_open(utc(2026, 11, 18, 9))
    assert not cal.is_open(utc(2026, 11, 18, 20))
    assert cal.next_open(utc(2026, 11, 18, 20)) == utc(2026, 11, 19, 8)
    assert cal.next_open(utc(2026, 11, 18, 9)) == utc(2026, 11, 18, 9)


def test_always_open_is_plain_arithmetic() -> None:
    cal = Calendar(WEEKDAYS, "Europe/Paris", always_open=True)
    assert cal.add(utc(2026, 11, 21, 12), timedelta(hours=3)) == utc(2026, 11, 21, 15)
    assert cal.elapsed(utc(2026, 11, 21, 12), utc(2026, 11, 21, 15)) == timedelta(hours=3)


def test_never_open_and_bad_zone() -> None:
    cal = Calendar(WorkingHours(), "Europe/Paris")
    assert cal.next_open(utc(2026, 11, 18, 9)) is None
    with pytest.raises(ValueError, match="never open"):
        cal.add(utc(2026, 11, 18, 9), timedelta(hours=1))
    with pytest.raises(ValueError, match="time zone"):
        Calendar(WEEKDAYS, "Mars/Olympus")
