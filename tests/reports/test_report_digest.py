"""Digest scheduling (next runs in the team's time zone, across DST) and the digest card."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.reports.digest import (
    Digests,
    DigestSchedule,
    digest_card,
    digest_job_id,
    digest_period,
    digests_of,
    next_run,
    schedule_timezone,
)
from bot.reports.report import load_report
from bot.reports.service import first_digest_runs, prepare_digest
from bot.store.unit import Store
from bot.workspace import Workspace
from tests.reports.reports_history import NOW, WORKSPACE

DAILY = DigestSchedule(at=time(9), channels=["inbox"])
WEEKLY = DigestSchedule(day="mon", at=time(9), channels=["inbox"], team="care")
PARIS = "Europe/Paris"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_runs_at_nine_local_today_or_tomorrow() -> None:
    assert next_run("daily", DAILY, utc(2026, 11, 20, 7, 0), PARIS) == utc(2026, 11, 20, 8, 0)
    assert next_run("daily", DAILY, utc(2026, 11, 20, 8, 0), PARIS) == utc(
        2026, 11, 21, 8, 0
    )  # strictly after


def test_daily_follows_the_time_changes() -> None:
    # 9:00 Paris is 07:00Z in summer and 08:00Z in winter; clocks go back on Sun 25 Oct 2026.
    assert next_run("daily", DAILY, utc(2026, 10, 24, 8, 0), PARIS) == utc(2026, 10, 25, 8, 0)
    assert next_run("daily", DAILY, utc(2026, 3, 28, 9, 0), PARIS) == utc(2026, 3, 29, 7, 0)


def test_a_time_skipped_by_spring_forward_runs_once_just_after() -> None:
    night = DigestSchedule(at=time(2, 30))
    run = next_run("daily", night, utc(2026, 3, 28, 12, 0), PARIS)  # 29 Mar: 02:00 → 03:00
    assert run == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert next_run("daily", night, run, PARIS) == utc(2026, 3, 30, 0, 30)


def test_weekly_runs_on_its_weekday() -> None:
    friday = utc(2026, 11, 20, 12, 0)
    assert next_run("weekly", WEEKLY, friday, PARIS) == utc(2026, 11, 23, 8, 0)
    monday_before = utc(2026, 11, 23, 7, 0)
    assert next_run("weekly", WEEKLY, monday_before, PARIS) == utc(2026, 11, 23, 8, 0)
    assert next_run("weekly", WEEKLY, utc(2026, 11, 23, 8, 0), PARIS) == utc(2026, 11, 30, 8, 0)


def test_digest_periods_are_local_days() -> None:
    daily = digest_period("daily", utc(2026, 11, 23, 8, 0), PARIS)
    assert (daily.start, daily.end) == (utc(2026, 11, 21, 23, 0), utc(2026, 11, 22, 23, 0))
    weekly = digest_period("weekly", utc(2026, 11, 23, 8, 0), PARIS)
    assert (weekly.start, weekly.end) == (utc(2026, 11, 15, 23, 0), utc(2026, 11, 22, 23, 0))
    autumn = digest_period("daily", utc(2026, 10, 26, 8, 0), PARIS)  # Sunday 25 Oct had 25 hours
    assert autumn.length.total_seconds() == 25 * 3600
    assert digest_job_id("daily", utc(2026, 11, 23, 8, 0)) == "digest-daily-20261123T0800"


def test_configuration_and_time_zone() -> None:
    assert digests_of(WORKSPACE) == Digests()
    assert schedule_timezone(WEEKLY, WORKSPACE) == PARIS
    assert schedule_timezone(DigestSchedule(timezone="America/Montreal"), WORKSPACE) == "America/Montreal"
    configured = WORKSPACE.model_copy(update={"digests": {"daily": {"at": "08:30"}}})
    assert first_digest_runs(configured, utc(2026, 11, 20, 12, 0)) == {"daily": utc(2026, 11, 21, 7, 30)}


def test_digest_card_in_both_languages(history: Store, workspace: Workspace) -> None:
    report = load_report(history, workspace, since="2026-11-16", until="2026-11-23", now=NOW)
    en = digest_card(report, "weekly", "en")
    fr = digest_card(report, "weekly", "fr")
    assert en.title == "Weekly digest — Maison Lune · 16 Nov 2026"
    assert fr.title == "Résumé de la semaine — Maison Lune · 16 nov. 2026"
    assert dict(en.fields)["Volume"] == "8 (↑ 166.7%)"
    assert dict(fr.fields)["Taux de respect des SLA"].startswith("75,0 %")
    assert en.severity == "danger"  # an incident is still unacknowledged
    assert en.labels == ("digest", "weekly")


def test_prepare_digest_for_the_scheduler(history: Store, workspace: Workspace) -> None:
    configured = workspace.model_copy(update={"digests": Digests(weekly=WEEKLY), "language": "fr"})
    digest = prepare_digest(history, configured, "weekly", utc(2026, 11, 23, 8, 0))
    assert digest is not None
    assert digest.channels == ("inbox",)
    assert digest.next_at == utc(2026, 11, 30, 8, 0)
    assert digest.report.kpis.volume.total == 3  # team care only
    assert digest.card.title.startswith("Résumé de la semaine")
    assert digest.png.startswith(b"\x89PNG")
    assert prepare_digest(history, workspace, "daily", NOW) is None
