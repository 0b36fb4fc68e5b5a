"""Daily and weekly digests: when the next one is due (in the team's time zone), which period it
covers, and the card posted to the configured channels. The lead's scheduler (RQ) calls
`next_run` after each run and `digest_card` with the report of `digest_period`.

Configuration, proposed as `Workspace.digests` (vigie.yaml):

    digests:
      daily:  {at: "09:00", channels: [inbox]}
      weekly: {day: mon, at: "09:00", channels: [inbox], team: community}
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.ports import Card
from bot.reports.period import Period
from bot.reports.render_md import change_text, period_text
from bot.reports.report import Report
from bot.reports.texts import Lang, day, duration, number, percent, text
from bot.workspace import DAYS, Workspace

DigestKind = Literal["daily", "weekly"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SLA_WARNING = 0.8  # below this hit rate the digest card is shown as a warning


class DigestSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: time = Field(default=time(9), description="Local time of the team's time zone.")
    day: Weekday = Field(default="mon", description="Weekly digests only.")
    channels: list[str] = Field(default_factory=list, description="Named team channels (see `channels`).")
    team: str | None = Field(default=None, description="Only this team's traffic, in its time zone.")
    timezone: str | None = Field(default=None, description="Overrides the team's time zone.")


class Digests(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: DigestSchedule | None = None
    weekly: DigestSchedule | None = None

    def of(self, kind: DigestKind) -> DigestSchedule | None:
        return self.daily if kind == "daily" else self.weekly


def digests_of(workspace: Workspace) -> Digests:
    """The workspace's `digests` once the lead mounts it; none configured until then."""
    value: Any = getattr(workspace, "digests", None)
    return value if isinstance(value, Digests) else Digests.model_validate(value or {})


def schedule_timezone(schedule: DigestSchedule, workspace: Workspace) -> str:
    if schedule.timezone:
        return schedule.timezone
    if schedule.team and schedule.team in workspace.teams:
        return workspace.teams[schedule.team].timezone
    return next((t.timezone for t in workspace.teams.values()), "UTC")


def _local(day_: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: a time skipped by a spring-forward change lands just after it (02:30 → 03:30), and a
    # time that happens twice in autumn is taken the first time; either way one digest per day.
    return datetime.combine(day_, at, tzinfo=zone).astimezone(UTC)


def next_run(kind: DigestKind, schedule: DigestSchedule, after: datetime, timezone: str) -> datetime:
    """The first run strictly after `after`, in UTC."""
    zone = ZoneInfo(timezone)
    today = after.astimezone(zone).date()
    for offset in range(0, 9):
        candidate_day = today + timedelta(days=offset)
        if kind == "weekly" and DAYS[candidate_day.weekday()] != schedule.day:
            continue
        candidate = _local(candidate_day, schedule.at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("a weekday recurs within 8 days")  # pragma: no cover


def digest_period(kind: DigestKind, run_at: datetime, timezone: str) -> Period:
    """The local calendar day (daily) or the seven local days (weekly) before the run's day."""
    zone = ZoneInfo(timezone)
    run_day = run_at.astimezone(zone).date()
    span = 1 if kind == "daily" else 7
    start = datetime.combine(run_day - timedelta(days=span), time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(run_day, time(0), tzinfo=zone).astimezone(UTC)
    return Period(start, end)


def digest_job_id(kind: DigestKind, run_at: datetime) -> str:
    """A stable id per run (RQ job ids: letters, digits, `_`, `-`), so scheduling twice is harmless."""
    return f"digest-{kind}-{run_at.astimezone(UTC):%Y%m%dT%H%M}"


def digest_card(report: Report, period: DigestKind, lang: Lang) -> Card:
    k, t = report.kpis, report.trend
    title_key = "daily_digest" if period == "daily" else "weekly_digest"
    local_start = k.period_start.astimezone(ZoneInfo(report.timezone))
    fields = (
        (text("volume", lang), f"{k.volume.total} ({change_text('volume', t['volume'], lang)})"),
        (
            text("first_response", lang),
            f"{duration(k.first_response.business.median_s, lang)} "
            f"({change_text('first_response_median_s', t['first_response_median_s'], lang)})",
        ),
        (text("resolution", lang), duration(k.resolution.business.median_s, lang)),
        (
            text("sla", lang),
            f"{percent(k.sla.hit_rate, lang)} ({change_text('sla_hit_rate', t['sla_hit_rate'], lang)})",
        ),
        (text("response_rate", lang), percent(k.response.rate, lang)),
        (text("satisfaction", lang), number(k.satisfaction.index, lang)),
        (text("moderation", lang), str(k.moderation.total)),
        (
            text("crisis", lang),
            text(
                "crisis_detail",
                lang,
                acknowledged=k.crisis.acknowledged,
                unacknowledged=k.crisis.unacknowledged,
                ttA=duration(k.crisis.time_to_acknowledge.median_s, lang),
            )
            if k.crisis.incidents
            else "0",
        ),
        (
            text("backlog", lang),
            text(
                "backlog_detail",
                lang,
                unresolved=k.backlog.unresolved,
                unassigned=k.backlog.unassigned,
                overdue=k.backlog.overdue,
            ),
        ),
    )
    top = ", ".join(f"{name} {count}" for name, count in k.top_labels[:5])
    return Card(
        title=f"{text(title_key, lang)} — {report.brand} · {day(local_start, lang)}",
        text=f"{text('top_labels', lang)}: {top}" if top else "",
        fields=fields,
        labels=("digest", period),
        severity=_severity(report),
        footer=period_text(k, report.timezone, lang),
    )


def _severity(report: Report) -> Literal["info", "good", "warning", "danger"]:
    k = report.kpis
    if k.crisis.unacknowledged:
        return "danger"
    if k.backlog.overdue or (k.sla.hit_rate is not None and k.sla.hit_rate < SLA_WARNING):
        return "warning"
    return "info"
