"""Periods, statistics, brand matching, and business time across a weekend and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.reports.kpis import compute_kpis
from bot.reports.period import Period, PeriodError, parse_period
from bot.reports.records import CaseRecord, History
from bot.reports.report import calendars
from bot.reports.stats import median, percentile
from bot.reports.voice import BrandMatcher
from tests.reports.reports_history import PARIS, WORKSPACE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_since_a_duration_ends_now() -> None:
    period = parse_period("7d", None, now=NOW)
    assert (period.start, period.end) == (NOW - timedelta(days=7), NOW)
    assert period.previous() == Period(NOW - timedelta(days=14), NOW - timedelta(days=7))


def test_dates_are_local_midnights_and_a_duration_counts_back_from_until() -> None:
    period = parse_period("2026-11-16", "2026-11-23", now=NOW, timezone="Europe/Paris")
    assert period.start == datetime(2026, 11, 15, 23, tzinfo=UTC)
    back = parse_period("7d", "2026-11-23", now=NOW, timezone="Europe/Paris")
    assert back == period
    exact = parse_period("2026-11-16T09:00Z", "now", now=NOW)
    assert exact.start == datetime(2026, 11, 16, 9, tzinfo=UTC)


@pytest.mark.parametrize("since, until", [("yesterday", None), ("7x", None), ("2026-11-30", "2026-11-01")])
def test_bad_periods_are_refused_with_the_value(since: str, until: str | None) -> None:
    with pytest.raises(PeriodError):
        parse_period(since, until, now=NOW)


def test_median_and_nearest_rank_p90() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert median(values) == 5.5
    assert percentile(values, 0.9) == 9.0  # ceil(0.9 × 10) = 9th value
    assert percentile([3.0], 0.9) == 3.0
    assert median([]) is None and percentile([], 0.9) is None


def test_brand_matching_is_whole_word_and_case_insensitive() -> None:
    matcher = BrandMatcher(WORKSPACE.brand)
    assert matcher.brands_in("J'adore MAISON LUNE et brume") == ("Maison Lune", "Brume")
    assert matcher.brands_in("brumes et soleils") == ()
    assert matcher.brands_in("vu chez Soleil & Co.") == ("Soleil & Co",)
    assert matcher.brands_in("anything", declared="maisonlune") == ("Maison Lune",)
    assert matcher.brands_in("Maison Lune", declared="Unknown Corp") == ()


def _case(opened: datetime, answered: datetime) -> CaseRecord:
    return CaseRecord(
        id=1, team="care", source="x", status="pending", opened_at=opened, first_response_at=answered
    )


def test_business_hours_across_a_weekend_and_the_october_time_change() -> None:
    # Fri 23 Oct 17:00 CEST (UTC+2) → Mon 26 Oct 10:00 CET (UTC+1): clocks went back on Sunday 25.
    opened = datetime(2026, 10, 23, 17, tzinfo=PARIS)
    answered = datetime(2026, 10, 26, 10, tzinfo=PARIS)
    period = Period(datetime(2026, 10, 19, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    kpis = compute_kpis(
        History(cases=(_case(opened, answered),)),
        period,
        now=NOW,
        brand=WORKSPACE.brand,
        calendars=calendars(WORKSPACE),
        timezone="Europe/Paris",
    )
    assert kpis.first_response.wall.median_s == 66 * 3600  # 15:00Z Fri → 09:00Z Mon, the extra hour included
    assert kpis.first_response.business.median_s == 2 * 3600  # Fri 17-18, Mon 9-10


def test_business_hours_across_the_march_time_change() -> None:
    # Fri 27 Mar 2026 17:30 CET → Mon 30 Mar 09:30 CEST: the 23-hour Sunday is closed anyway.
    opened = datetime(2026, 3, 27, 17, 30, tzinfo=PARIS)
    answered = datetime(2026, 3, 30, 9, 30, tzinfo=PARIS)
    period = Period(datetime(2026, 3, 23, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC))
    kpis = compute_kpis(
        History(cases=(_case(opened, answered),)),
        period,
        now=NOW,
        brand=WORKSPACE.brand,
        calendars=calendars(WORKSPACE),
        timezone="Europe/Paris",
    )
    assert kpis.first_response.wall.median_s == 63 * 3600
    assert kpis.first_response.business.median_s == 3600
    assert [d.day for d in kpis.daily][:2] == ["2026-03-23", "2026-03-24"]


def test_a_team_without_working_hours_counts_wall_time() -> None:
    opened = datetime(2026, 11, 21, 10, tzinfo=UTC)  # a Saturday
    case = CaseRecord(
        id=1,
        team="unknown",
        source="x",
        status="open",
        opened_at=opened,
        first_response_at=opened + timedelta(hours=3),
    )
    period = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    kpis = compute_kpis(History(cases=(case,)), period, now=NOW, brand=WORKSPACE.brand, calendars={})
    assert kpis.first_response.business.median_s == kpis.first_response.wall.median_s == 3 * 3600


def test_an_empty_history_gives_empty_measures_not_errors() -> None:
    period = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 17, tzinfo=UTC))
    kpis = compute_kpis(History(), period, now=NOW, brand=WORKSPACE.brand, calendars={})
    assert kpis.volume.total == 0 and kpis.sla.hit_rate is None and kpis.satisfaction.index is None
    assert kpis.share_of_voice.share == {}
