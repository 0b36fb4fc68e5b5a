"""Every KPI of the fixture week (tests/reports/conftest.py), against answers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.reports.kpis import Filters, Kpis
from bot.reports.report import Report, load_report
from bot.store.unit import Store
from bot.workspace import Workspace
from tests.reports.reports_history import NOW, SINCE, UNTIL

H = 3600.0


def report_of(store: Store, workspace: Workspace, **filters: str) -> Report:
    return load_report(store, workspace, since=SINCE, until=UNTIL, now=NOW, filters=Filters(**filters))


@pytest.fixture
def report(history: Store, workspace: Workspace) -> Report:
    return report_of(history, workspace)


def test_period_is_the_local_week_and_the_previous_one(report: Report) -> None:
    assert report.kpis.period_start == datetime(2026, 11, 15, 23, tzinfo=UTC)
    assert report.kpis.period_end == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert report.previous.period_start == datetime(2026, 11, 8, 23, tzinfo=UTC)
    assert report.timezone == "Europe/Paris"


def test_volume_by_source_kind_and_local_day(report: Report) -> None:
    v = report.kpis.volume
    # e1..e7 and e9; the survey answer e8 is not community volume.
    assert v.total == 8
    assert v.by_source == {"instagram": 3, "discord": 2, "google-reviews": 2, "trustpilot": 1}
    assert v.by_kind == {"review": 3, "comment": 2, "message": 2, "dm": 1}
    assert v.by_day == {
        "2026-11-16": 2,
        "2026-11-17": 1,
        "2026-11-18": 2,
        "2026-11-19": 0,
        "2026-11-20": 2,
        "2026-11-21": 1,
        "2026-11-22": 0,
    }
    assert report.previous.volume.total == 3


def test_first_response_and_resolution_times(report: Report) -> None:
    k = report.kpis
    # c1 answered in 2 h (Tue, open hours); c2 opened Fri 17:00, answered Sat 11:00: 18 h, 1 business hour.
    assert (k.first_response.wall.count, k.first_response.wall.median_s, k.first_response.wall.p90_s) == (
        2,
        10 * H,
        18 * H,
    )
    assert (k.first_response.business.median_s, k.first_response.business.p90_s) == (1.5 * H, 2 * H)
    # c1: Tue 10:05 → Thu 10:05 = 48 h; business 7h55 + 9h + 1h05 = 18 h.
    assert (k.resolution.wall.count, k.resolution.wall.median_s, k.resolution.business.median_s) == (
        1,
        48 * H,
        18 * H,
    )
    # previous: c5 answered in 1 h; resolved Mon 10:00 → Wed 10:00 = 48 h, 8 + 9 + 1 = 18 business hours.
    assert report.previous.first_response.business.median_s == 1 * H
    assert report.previous.resolution.business.median_s == 18 * H


def test_sla_hit_rate(report: Report) -> None:
    sla = report.kpis.sla
    # hit: c1 first response, c1 resolution, c2 first response; missed: c4 resolution (due Tue 17 10:00,
    # still "active" in the store: the breach timer has not run, it is late all the same).
    assert (sla.hit, sla.missed, sla.hit_rate) == (3, 1, 0.75)
    assert sla.by_target == {"first_response": {"hit": 2, "missed": 0}, "resolution": {"hit": 1, "missed": 1}}
    # previous: c4 first response missed, c5 first response hit, c5 resolution missed.
    assert (report.previous.sla.hit, report.previous.sla.missed) == (1, 2)


def test_response_rate(report: Report) -> None:
    r = report.kpis.response
    assert (r.opened, r.responded) == (3, 2)  # c1, c2 answered; c3 not
    assert r.rate == pytest.approx(2 / 3)
    assert report.previous.response.rate == 0.5


def test_satisfaction_index_with_survey_answers(report: Report) -> None:
    s = report.kpis.satisfaction
    # ratings: e2 5, e3 2, e6 4, survey e8 4; scored: e1 +, e4 −, e5 0, e7 +, e9 0
    assert (s.ratings, s.satisfied, s.rating_average, s.csat) == (4, 3, 3.75, 0.75)
    assert (s.survey_answers, s.survey_csat) == (1, 1.0)
    assert (s.scored, s.positive, s.neutral, s.negative, s.positive_share) == (5, 2, 2, 1, 0.4)
    assert s.index == pytest.approx(100 * 5 / 9)
    assert report.previous.satisfaction.index == 50.0  # p2 rated 3 (not satisfied), p1 positive


def test_moderation_by_rule_and_action(report: Report) -> None:
    m = report.kpis.moderation
    assert m.total == 3
    assert m.by_rule == {"insults": 2, "spam": 1}
    assert m.by_action == {"delete": 1, "hide": 1, "warn": 1}
    assert report.previous.moderation.total == 1


def test_top_labels_and_rules(report: Report) -> None:
    assert report.kpis.top_labels == [("after-sales", 3), ("praise", 1), ("spam", 1), ("toxic", 1)]
    assert report.kpis.top_rules == [("broken-parcel", 1), ("delivery-late", 1), ("insults", 1), ("spam", 1)]


def test_crisis_incidents_from_the_audit_log(report: Report) -> None:
    c = report.kpis.crisis
    assert (c.incidents, c.acknowledged, c.unacknowledged) == (2, 1, 1)
    assert c.time_to_acknowledge.median_s == 1800.0  # the first ack counts, 30 min after opening
    assert report.previous.crisis.time_to_acknowledge.median_s == 3600.0


def test_backlog_at_the_end_of_the_period(report: Report) -> None:
    b = report.kpis.backlog
    assert b.at == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert (b.unresolved, b.unassigned, b.overdue) == (3, 1, 1)  # c2, c3, c4; c3 unassigned; c4 overdue
    p = report.previous.backlog
    assert (p.unresolved, p.unassigned, p.overdue) == (1, 0, 1)


def test_share_of_voice(report: Report) -> None:
    sov = report.kpis.share_of_voice
    # e1 "Maison Lune", e6 alias "maisonlune", e3 "Brume", e5 declared "Soleil & Co"; "brumes" is no match.
    assert sov.own == "Maison Lune"
    assert sov.mentions == {"Maison Lune": 2, "Soleil & Co": 1, "Brume": 1}
    assert sov.share == {"Maison Lune": 0.5, "Soleil & Co": 0.25, "Brume": 0.25}


def test_daily_series(report: Report) -> None:
    days = {d.day: d for d in report.kpis.daily}
    assert list(days) == [f"2026-11-{n}" for n in range(16, 23)]
    assert days["2026-11-17"].first_response_median_s == 2 * H
    assert (days["2026-11-17"].sla_hit, days["2026-11-17"].sla_missed) == (1, 1)
    assert days["2026-11-19"].resolution_median_s == 18 * H
    assert days["2026-11-21"].first_response_median_s == 1 * H
    assert (days["2026-11-18"].positive, days["2026-11-18"].neutral, days["2026-11-18"].negative) == (0, 1, 1)
    assert days["2026-11-20"].volume_by_source == {"trustpilot": 1, "discord": 1}


def test_trend_against_the_previous_period(report: Report) -> None:
    t = report.trend
    assert (t["volume"].current, t["volume"].previous, t["volume"].delta) == (8, 3, 5)
    assert t["volume"].change == pytest.approx(5 / 3)
    assert t["first_response_median_s"].change == pytest.approx(0.5)  # 1.5 h against 1 h
    assert t["sla_hit_rate"].delta == pytest.approx(0.75 - 1 / 3)
    assert t["backlog_unresolved"].better == "down"


def test_filters_by_team_staff_source_and_label(history: Store, workspace: Workspace) -> None:
    care = report_of(history, workspace, team="care").kpis
    assert care.volume.total == 3  # e3, e6, e7: the events routed to care's cases
    assert care.satisfaction.survey_answers == 1  # the survey answer follows its case
    tom = report_of(history, workspace, staff="tom").kpis
    assert (tom.volume.total, tom.response.opened, tom.backlog.unresolved) == (2, 2, 1)
    discord = report_of(history, workspace, source="discord").kpis
    assert (discord.volume.total, discord.moderation.total, discord.response.opened) == (2, 3, 0)
    toxic = report_of(history, workspace, label="toxic").kpis
    assert (toxic.volume.total, toxic.moderation.by_rule) == (1, {"insults": 2})
    assert care.crisis.incidents == 2  # incidents are brand-wide


def test_kpis_are_json_safe(report: Report) -> None:
    again = Kpis.model_validate_json(report.kpis.model_dump_json())
    assert again == report.kpis
