"""A report: the KPIs of a period, those of the previous period of the same length, and the trend
between them; `build_report` also renders it (Markdown in French and English, a short chat summary,
the PNG dashboard) for the CLI, `/vigie report` in Slack and Discord, digests and the demo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from bot.casework.business_hours import Calendar
from bot.events import utcnow
from bot.reports.kpis import Filters, Kpis, compute_kpis
from bot.reports.period import Period, parse_period
from bot.reports.records import History
from bot.reports.texts import LANGS, Lang
from bot.workspace import Workspace

if TYPE_CHECKING:
    from bot.store.unit import Store

Better = Literal["up", "down", "neither"]


class Trend(BaseModel):
    model_config = ConfigDict(frozen=True)

    current: float | None
    previous: float | None
    delta: float | None
    change: float | None  # relative: delta / previous; None when previous is 0 or unknown
    better: Better


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    brand: str
    generated_at: datetime
    timezone: str
    filters: Filters
    kpis: Kpis
    previous: Kpis
    trend: dict[str, Trend]


def headline(kpis: Kpis) -> dict[str, tuple[float | None, Better]]:
    """The numbers a trend is shown for, and which way is better."""
    return {
        "volume": (float(kpis.volume.total), "neither"),
        "first_response_median_s": (kpis.first_response.business.median_s, "down"),
        "resolution_median_s": (kpis.resolution.business.median_s, "down"),
        "sla_hit_rate": (kpis.sla.hit_rate, "up"),
        "response_rate": (kpis.response.rate, "up"),
        "satisfaction_index": (kpis.satisfaction.index, "up"),
        "moderation_actions": (float(kpis.moderation.total), "neither"),
        "crisis_incidents": (float(kpis.crisis.incidents), "down"),
        "backlog_unresolved": (float(kpis.backlog.unresolved), "down"),
    }


def trend(current: Kpis, previous: Kpis) -> dict[str, Trend]:
    before = headline(previous)
    out = {}
    for name, (value, better) in headline(current).items():
        old = before[name][0]
        delta = value - old if value is not None and old is not None else None
        change = delta / old if delta is not None and old else None
        out[name] = Trend(current=value, previous=old, delta=delta, change=change, better=better)
    return out


def report_timezone(workspace: Workspace, team: str | None) -> str:
    """The filtered team's zone; else the first team's (days must be someone's days); else UTC."""
    if team and team in workspace.teams:
        return workspace.teams[team].timezone
    return next((t.timezone for t in workspace.teams.values()), "UTC")


def calendars(workspace: Workspace) -> dict[str, Calendar]:
    return {name: Calendar.for_team(team) for name, team in workspace.teams.items()}


def make_report(
    history: History,
    period: Period,
    *,
    workspace: Workspace,
    now: datetime,
    filters: Filters | None = None,
    timezone: str | None = None,
) -> Report:
    """Pure: the report of `period` from a history that covers it and the previous period."""
    flt = filters or Filters()
    zone = timezone or report_timezone(workspace, flt.team)
    hours = calendars(workspace)

    def kpis_of(span: Period) -> Kpis:
        return compute_kpis(
            history, span, now=now, brand=workspace.brand, calendars=hours, timezone=zone, filters=flt
        )

    current, previous = kpis_of(period), kpis_of(period.previous())
    return Report(
        brand=workspace.brand.name,
        generated_at=now,
        timezone=zone,
        filters=flt,
        kpis=current,
        previous=previous,
        trend=trend(current, previous),
    )


@dataclass(frozen=True)
class ReportOutput:
    """What `/vigie report` posts: `summary[lang]` as the message, `png` as the attached chart;
    `markdown[lang]` is the full report for a file."""

    report: Report
    summary: dict[Lang, str]
    markdown: dict[Lang, str]
    png: bytes | None


def load_report(
    store: Store,
    workspace: Workspace,
    *,
    since: str = "7d",
    until: str | None = None,
    period: Period | None = None,
    filters: Filters | None = None,
    now: datetime | None = None,
    timezone: str | None = None,
) -> Report:
    """The report of `period`, or of `since`/`until` read in the report's time zone."""
    from bot.store.reports import ReportRepo

    flt = filters or Filters()
    moment = now or utcnow()
    zone = timezone or report_timezone(workspace, flt.team)
    period = period or parse_period(since, until, now=moment, timezone=zone)
    with store.unit() as unit:
        history = ReportRepo(unit).history(period.previous().start, period.end)
    return make_report(history, period, workspace=workspace, now=moment, filters=flt, timezone=zone)


def build_report(
    store: Store,
    workspace: Workspace,
    *,
    since: str = "7d",
    until: str | None = None,
    filters: Filters | None = None,
    now: datetime | None = None,
    chart: bool = True,
) -> ReportOutput:
    """Load, compute and render. Raises `PeriodError` for an unreadable --since/--until."""
    from bot.reports.render_md import render_markdown, render_summary

    report = load_report(store, workspace, since=since, until=until, filters=filters, now=now)
    png = None
    if chart:
        from bot.reports.render_png import render_png

        png = render_png(report, workspace.language)
    return ReportOutput(
        report=report,
        summary={lang: render_summary(report, lang) for lang in LANGS},
        markdown={lang: render_markdown(report, lang) for lang in LANGS},
        png=png,
    )
