"""The KPIs of one period, computed over plain records (see `records.py`); definitions are in
docs of each model field and in the report, so a number can be re-derived by hand.

Each measure counts what happened in the period: a first response counts in the period it was sent,
a resolution when the case was resolved, an SLA target when it was met or fell due. Backlog is a
snapshot at the end of the period (or now, for a period that has not ended)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.casework.business_hours import Calendar
from bot.reports.period import Period
from bot.reports.records import CaseRecord, EventRecord, History, ModerationRecord
from bot.reports.stats import TimeStats, median, rate, time_stats
from bot.reports.voice import BrandMatcher
from bot.workspace import Brand

POSITIVE = 0.05
NEGATIVE = -0.05
"""Sentiment scores are in [-1, 1]; like VADER, ±0.05 separates positive and negative from neutral."""

SATISFIED_RATING = 4  # 4 and 5 stars are "satisfied" (CSAT), as review sites and surveys count them
TOP = 10


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Filters(_Model):
    """Narrow a report. Events and moderation actions match through their case (team, assignee) and
    their verdict or case labels; crisis incidents are brand-wide and never filtered."""

    source: str | None = None
    team: str | None = None
    label: str | None = None
    staff: str | None = None

    def event(self, e: EventRecord) -> bool:
        return self._match(e.source, e.team, (*e.labels, *e.case_labels), e.assignee)

    def case(self, c: CaseRecord) -> bool:
        return self._match(c.source, c.team, c.labels, c.assignee)

    def moderation(self, m: ModerationRecord) -> bool:
        return self._match(m.source, m.team, m.labels, m.assignee)

    def _match(self, source: str, team: str | None, labels: Iterable[str], assignee: str | None) -> bool:
        return (
            (self.source is None or source == self.source)
            and (self.team is None or team == self.team)
            and (self.label is None or self.label in labels)
            and (self.staff is None or assignee == self.staff)
        )

    def describe(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Volume(_Model):
    total: int = Field(0, description="Events created in the period (survey answers excluded).")
    by_source: dict[str, int] = Field(default_factory=dict)
    by_kind: dict[str, int] = Field(default_factory=dict)
    by_day: dict[str, int] = Field(default_factory=dict, description="Local days of the report time zone.")


class Durations(_Model):
    wall: TimeStats = TimeStats()
    business: TimeStats = Field(TimeStats(), description="Counting only the team's working hours.")


class Sla(_Model):
    hit: int = 0
    missed: int = Field(0, description="Met late, or still unmet once due.")
    hit_rate: float | None = None
    by_target: dict[str, dict[str, int]] = Field(default_factory=dict)


class ResponseRate(_Model):
    opened: int = Field(0, description="Cases opened in the period.")
    responded: int = Field(0, description="Of those, answered before the period's end.")
    rate: float | None = None


class Satisfaction(_Model):
    ratings: int = Field(0, description="Star ratings: reviews and survey answers.")
    rating_average: float | None = None
    satisfied: int = Field(0, description="Ratings of 4 or 5 stars.")
    csat: float | None = Field(None, description="satisfied / ratings.")
    survey_answers: int = 0
    survey_csat: float | None = None
    scored: int = Field(0, description="Events without a rating that have a sentiment score.")
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    positive_share: float | None = None
    index: float | None = Field(
        None, description="0-100: (satisfied ratings + positive scores) / (ratings + scored) × 100."
    )


class Moderation(_Model):
    total: int = 0
    by_rule: dict[str, int] = Field(default_factory=dict)
    by_action: dict[str, int] = Field(default_factory=dict)


class Crisis(_Model):
    incidents: int = Field(0, description="Incidents opened in the period.")
    acknowledged: int = 0
    unacknowledged: int = 0
    time_to_acknowledge: TimeStats = TimeStats()


class Backlog(_Model):
    at: datetime
    unresolved: int = Field(0, description="Opened before `at` and not resolved at `at`.")
    unassigned: int = 0
    overdue: int = Field(0, description="Unresolved with an SLA target past due and unmet at `at`.")


class ShareOfVoice(_Model):
    own: str
    mentions: dict[str, int] = Field(default_factory=dict)
    share: dict[str, float] = Field(default_factory=dict)


class Day(_Model):
    day: str
    volume_by_source: dict[str, int] = Field(default_factory=dict)
    first_response_median_s: float | None = None
    resolution_median_s: float | None = None
    sla_hit: int = 0
    sla_missed: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0


class Kpis(_Model):
    period_start: datetime
    period_end: datetime
    volume: Volume
    first_response: Durations
    resolution: Durations
    sla: Sla
    response: ResponseRate
    satisfaction: Satisfaction
    moderation: Moderation
    top_labels: list[tuple[str, int]]
    top_rules: list[tuple[str, int]]
    crisis: Crisis
    backlog: Backlog
    share_of_voice: ShareOfVoice
    daily: list[Day]


def compute_kpis(
    history: History,
    period: Period,
    *,
    now: datetime,
    brand: Brand,
    calendars: Mapping[str, Calendar],
    timezone: str = "UTC",
    filters: Filters | None = None,
) -> Kpis:
    """`calendars` maps a team to its working hours; a case of a team without one counts wall time."""
    flt = filters or Filters()
    zone = ZoneInfo(timezone)
    days = [d.isoformat() for d in period.days(zone)]
    events = [e for e in history.events if flt.event(e)]
    cases = [c for c in history.cases if flt.case(c)]
    in_period = [e for e in events if period.contains(e.created_at)]
    community = [e for e in in_period if e.survey_case is None]
    surveys = [e for e in in_period if e.survey_case is not None and e.rating is not None]

    daily: dict[str, dict[str, Any]] = {d: defaultdict(list) for d in days}

    def day_of(at: datetime) -> str:
        return at.astimezone(zone).date().isoformat()

    for e in community:
        daily[day_of(e.created_at)]["events"].append(e)

    first, first_daily = _durations(cases, period, calendars, "first_response_at", day_of)
    resolution, resolution_daily = _durations(cases, period, calendars, "resolved_at", day_of)
    sla, sla_daily = _sla(cases, period, now, day_of)
    volume_days = {d: len(daily[d]["events"]) for d in days}
    mod = [m for m in history.moderation if flt.moderation(m) and period.contains(m.applied_at)]

    out_days = []
    for d in days:
        todays = daily[d]["events"]
        tone = _tone(todays)
        out_days.append(
            Day(
                day=d,
                volume_by_source=dict(Counter(e.source for e in todays)),
                first_response_median_s=median(first_daily.get(d, [])),
                resolution_median_s=median(resolution_daily.get(d, [])),
                sla_hit=sla_daily.get(d, Counter())["hit"],
                sla_missed=sla_daily.get(d, Counter())["missed"],
                positive=tone["positive"],
                neutral=tone["neutral"],
                negative=tone["negative"],
            )
        )
    return Kpis(
        period_start=period.start,
        period_end=period.end,
        volume=Volume(
            total=len(community),
            by_source=_sorted(Counter(e.source for e in community)),
            by_kind=_sorted(Counter(e.kind for e in community)),
            by_day=volume_days,
        ),
        first_response=first,
        resolution=resolution,
        sla=sla,
        response=_response_rate(cases, period),
        satisfaction=_satisfaction(community, surveys),
        moderation=Moderation(
            total=len(mod),
            by_rule=_sorted(Counter(m.rule for m in mod)),
            by_action=_sorted(Counter(m.action for m in mod)),
        ),
        top_labels=_top(label for e in community for label in e.labels),
        top_rules=_top(rule for e in community for rule in e.rules),
        crisis=_crisis(history, period),
        backlog=_backlog(cases, min(period.end, now)),
        share_of_voice=_share_of_voice(community, brand),
        daily=out_days,
    )


def _sorted(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _top(items: Iterable[str]) -> list[tuple[str, int]]:
    return list(_sorted(Counter(items)).items())[:TOP]


def _durations(
    cases: list[CaseRecord], period: Period, calendars: Mapping[str, Calendar], field: str, day_of: Any
) -> tuple[Durations, dict[str, list[float]]]:
    """From opening to `field` (first response or resolution), for cases where it fell in the period."""
    wall: list[float] = []
    business: list[float] = []
    per_day: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        until: datetime | None = getattr(case, field)
        if until is None or not period.contains(until):
            continue
        wall.append(_seconds(case.opened_at, until))
        calendar = calendars.get(case.team)
        seconds = calendar.elapsed(case.opened_at, until).total_seconds() if calendar else wall[-1]
        business.append(seconds)
        per_day[day_of(until)].append(seconds)
    return Durations(wall=time_stats(wall), business=time_stats(business)), per_day


def _seconds(start: datetime, end: datetime) -> float:
    # In UTC: two datetimes sharing one ZoneInfo subtract as wall clocks, losing a DST hour.
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text)


def _sla(
    cases: list[CaseRecord], period: Period, now: datetime, day_of: Any
) -> tuple[Sla, dict[str, Counter[str]]]:
    """Each target counts once, when it settles: met (hit if on time), or due without being met."""
    totals: Counter[str] = Counter()
    by_target: dict[str, Counter[str]] = defaultdict(Counter)
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    horizon = min(period.end, now)
    for case in cases:
        for name, target in (case.sla.get("targets") or {}).items():
            status, met, due = target.get("status"), _parse(target.get("at")), _parse(target.get("due"))
            if status in ("hit", "missed"):
                settled = met or due
                outcome = "hit" if status == "hit" else "missed"
            elif status == "active" and met is None and due is not None and due < horizon:
                settled, outcome = due, "missed"  # the breach timer has not run yet; it is late all the same
            else:
                continue
            if not period.contains(settled):
                continue
            assert settled is not None
            totals[outcome] += 1
            by_target[name][outcome] += 1
            per_day[day_of(settled)][outcome] += 1
    sla = Sla(
        hit=totals["hit"],
        missed=totals["missed"],
        hit_rate=rate(totals["hit"], totals["hit"] + totals["missed"]),
        by_target={k: {"hit": v["hit"], "missed": v["missed"]} for k, v in sorted(by_target.items())},
    )
    return sla, per_day


def _response_rate(cases: list[CaseRecord], period: Period) -> ResponseRate:
    opened = [c for c in cases if period.contains(c.opened_at)]
    responded = [c for c in opened if c.first_response_at is not None and c.first_response_at < period.end]
    return ResponseRate(opened=len(opened), responded=len(responded), rate=rate(len(responded), len(opened)))


def _tone(events: Iterable[EventRecord]) -> Counter[str]:
    tone: Counter[str] = Counter()
    for e in events:
        if e.rating is None and e.sentiment is not None:
            tone[
                "positive"
                if e.sentiment >= POSITIVE
                else "negative"
                if e.sentiment <= NEGATIVE
                else "neutral"
            ] += 1
    return tone


def _satisfaction(community: list[EventRecord], surveys: list[EventRecord]) -> Satisfaction:
    ratings = [e.rating for e in community if e.rating is not None] + [e.rating for e in surveys if e.rating]
    survey_ratings = [e.rating for e in surveys if e.rating is not None]
    satisfied = sum(1 for r in ratings if r >= SATISFIED_RATING)
    tone = _tone(community)
    scored = tone["positive"] + tone["neutral"] + tone["negative"]
    return Satisfaction(
        ratings=len(ratings),
        rating_average=sum(ratings) / len(ratings) if ratings else None,
        satisfied=satisfied,
        csat=rate(satisfied, len(ratings)),
        survey_answers=len(survey_ratings),
        survey_csat=rate(sum(1 for r in survey_ratings if r >= SATISFIED_RATING), len(survey_ratings)),
        scored=scored,
        positive=tone["positive"],
        neutral=tone["neutral"],
        negative=tone["negative"],
        positive_share=rate(tone["positive"], scored),
        index=None
        if not ratings and not scored
        else 100 * (satisfied + tone["positive"]) / (len(ratings) + scored),
    )


def _crisis(history: History, period: Period) -> Crisis:
    opened = [i for i in history.incidents if period.contains(i.opened_at)]
    acked = [i for i in opened if i.acknowledged_at is not None]
    waits = [_seconds(i.opened_at, i.acknowledged_at) for i in acked if i.acknowledged_at is not None]
    return Crisis(
        incidents=len(opened),
        acknowledged=len(acked),
        unacknowledged=len(opened) - len(acked),
        time_to_acknowledge=time_stats(waits),
    )


def _overdue(case: CaseRecord, at: datetime) -> bool:
    for target in (case.sla.get("targets") or {}).values():
        if target.get("status") == "cancelled":
            continue
        due, met = _parse(target.get("due")), _parse(target.get("at"))
        if due is not None and due < at and (met is None or met > at):
            return True
    return False


def _backlog(cases: list[CaseRecord], at: datetime) -> Backlog:
    """Uses each case's current assignee: the store keeps no history of assignments besides the audit."""
    unresolved = [c for c in cases if c.opened_at < at and (c.resolved_at is None or c.resolved_at >= at)]
    return Backlog(
        at=at,
        unresolved=len(unresolved),
        unassigned=sum(1 for c in unresolved if c.assignee is None),
        overdue=sum(1 for c in unresolved if _overdue(c, at)),
    )


def _share_of_voice(community: list[EventRecord], brand: Brand) -> ShareOfVoice:
    matcher = BrandMatcher(brand)
    mentions: Counter[str] = Counter({name: 0 for name in matcher.names})
    for e in community:
        mentions.update(matcher.brands_in(e.text, e.brand))
    total = sum(mentions.values())
    return ShareOfVoice(
        own=brand.name,
        mentions=dict(mentions),
        share={name: count / total for name, count in mentions.items()} if total else {},
    )
