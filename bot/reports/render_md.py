"""The report as Markdown (a file, the CLI) and as a short summary (a Slack or Discord message), in
French or English."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.reports.kpis import Durations, Kpis
from bot.reports.report import Report, Trend
from bot.reports.texts import Lang, day, duration, number, percent, text

_TREND_ROWS: tuple[tuple[str, str], ...] = (
    ("volume", "volume"),
    ("first_response_median_s", "first_response"),
    ("resolution_median_s", "resolution"),
    ("sla_hit_rate", "sla"),
    ("response_rate", "response_rate"),
    ("satisfaction_index", "satisfaction"),
    ("moderation_actions", "moderation"),
    ("crisis_incidents", "crisis"),
    ("backlog_unresolved", "backlog"),
)


def period_text(kpis: Kpis, zone: str, lang: Lang) -> str:
    tz = ZoneInfo(zone)
    start = kpis.period_start.astimezone(tz)
    end = kpis.period_end.astimezone(tz)
    return f"{day(start, lang)} {start:%H:%M} → {day(end, lang)} {end:%H:%M} ({zone})"


def show(name: str, value: float | None, lang: Lang) -> str:
    if name.endswith("_s"):
        return duration(value, lang)
    if name.endswith("_rate"):
        return percent(value, lang)
    if name == "satisfaction_index":
        return number(value, lang)
    return "–" if value is None else str(int(value))


def arrow(item: Trend) -> str:
    if item.delta is None or item.delta == 0:
        return "→"
    return "↑" if item.delta > 0 else "↓"


def change_text(name: str, item: Trend, lang: Lang) -> str:
    if item.delta is None:
        return "–"
    if name.endswith("_rate"):
        points = item.delta * 100
        shown = f"{points:+.1f}".replace(".", ",") if lang == "fr" else f"{points:+.1f}"
        return f"{arrow(item)} {shown} pt"
    if item.change is None:
        return f"{arrow(item)} {show(name, abs(item.delta), lang)}"
    return f"{arrow(item)} {percent(item.change, lang)}"


def _times(durations: Durations, lang: Lang) -> str:
    b, w = durations.business, durations.wall
    return (
        f"{text('median', lang)} {duration(b.median_s, lang)}, {text('p90', lang)} {duration(b.p90_s, lang)} "
        f"({text('business_hours', lang)}, n={b.count}); "
        f"{text('median', lang)} {duration(w.median_s, lang)}, {text('p90', lang)} {duration(w.p90_s, lang)} "
        f"({text('wall_clock', lang)})"
    )


def _counts(counts: dict[str, int] | list[tuple[str, int]], lang: Lang) -> str:
    items = counts.items() if isinstance(counts, dict) else counts
    shown = ", ".join(f"{name} {count}" for name, count in items)
    return shown or text("none", lang)


def render_markdown(report: Report, lang: Lang) -> str:
    k = report.kpis
    s = k.satisfaction
    previous = period_text(report.previous, report.timezone, lang)
    lines = [
        f"# {text('report_title', lang)} — {report.brand}",
        "",
        f"**{text('period', lang)}**: {period_text(k, report.timezone, lang)}",
    ]
    filters = report.filters.describe()
    if filters:
        lines.append(f"**{text('filters', lang)}**: " + ", ".join(f"{k_}={v}" for k_, v in filters.items()))
    lines += [
        "",
        f"## {text('volume', lang)}: {k.volume.total} {text('events', lang)}",
        f"- {text('by_source', lang)}: {_counts(k.volume.by_source, lang)}",
        f"- {text('by_kind', lang)}: {_counts(k.volume.by_kind, lang)}",
        "",
        f"## {text('first_response', lang)}",
        _times(k.first_response, lang),
        "",
        f"## {text('resolution', lang)}",
        _times(k.resolution, lang),
        "",
        f"## {text('sla', lang)}: {percent(k.sla.hit_rate, lang)}",
        text("sla_detail", lang, hit=k.sla.hit, missed=k.sla.missed),
        "",
        f"## {text('response_rate', lang)}: {percent(k.response.rate, lang)}",
        text("response_detail", lang, responded=k.response.responded, opened=k.response.opened),
        "",
        f"## {text('satisfaction', lang)}: {number(s.index, lang)}",
        text(
            "satisfaction_detail",
            lang,
            ratings=s.ratings,
            avg=number(s.rating_average, lang),
            csat=percent(s.csat, lang),
            scored=s.scored,
            positive=s.positive,
            surveys=s.survey_answers,
        ),
        "",
        f"## {text('moderation', lang)}: {k.moderation.total}",
        f"- {_counts(k.moderation.by_rule, lang)}",
        f"- {_counts(k.moderation.by_action, lang)}",
        "",
        f"## {text('top_labels', lang)}",
        _counts(k.top_labels, lang),
        "",
        f"## {text('top_rules', lang)}",
        _counts(k.top_rules, lang),
        "",
        f"## {text('crisis', lang)}: {k.crisis.incidents}",
        text(
            "crisis_detail",
            lang,
            acknowledged=k.crisis.acknowledged,
            unacknowledged=k.crisis.unacknowledged,
            ttA=duration(k.crisis.time_to_acknowledge.median_s, lang),
        ),
        "",
        f"## {text('backlog', lang)}",
        text(
            "backlog_detail",
            lang,
            unresolved=k.backlog.unresolved,
            unassigned=k.backlog.unassigned,
            overdue=k.backlog.overdue,
        ),
        "",
        f"## {text('share_of_voice', lang)}",
        ", ".join(
            f"{name} {percent(k.share_of_voice.share.get(name), lang)} ({count})"
            for name, count in k.share_of_voice.mentions.items()
        )
        or text("no_data", lang),
        "",
        f"## {text('trend', lang)} ({text('previous', lang)}: {previous})",
        "",
        f"| {text('metric', lang)} | {text('current', lang)} | {text('before', lang)} "
        f"| {text('change', lang)} |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, key in _TREND_ROWS:
        item = report.trend[name]
        lines.append(
            f"| {text(key, lang)} | {show(name, item.current, lang)} | {show(name, item.previous, lang)} "
            f"| {change_text(name, item, lang)} |"
        )
    return "\n".join(lines) + "\n"


def render_summary(report: Report, lang: Lang) -> str:
    """A few lines for a chat message; the chart carries the detail."""
    k, t = report.kpis, report.trend
    return "\n".join(
        [
            f"*{text('report_title', lang)} — {report.brand}* · {period_text(k, report.timezone, lang)}",
            f"• {text('volume', lang)}: {k.volume.total} ({change_text('volume', t['volume'], lang)})",
            f"• {text('first_response', lang)}: {duration(k.first_response.business.median_s, lang)} "
            f"({text('median', lang)}, {text('business_hours', lang)}); "
            f"{text('resolution', lang)}: {duration(k.resolution.business.median_s, lang)}",
            f"• {text('sla', lang)}: {percent(k.sla.hit_rate, lang)} · "
            f"{text('response_rate', lang)}: {percent(k.response.rate, lang)}",
            f"• {text('satisfaction', lang)}: {number(k.satisfaction.index, lang)} · "
            f"{text('moderation', lang)}: {k.moderation.total} · "
            f"{text('crisis', lang)}: {k.crisis.incidents}",
            f"• {text('backlog', lang)}: "
            + text(
                "backlog_detail",
                lang,
                unresolved=k.backlog.unresolved,
                unassigned=k.backlog.unassigned,
                overdue=k.backlog.overdue,
            ),
        ]
    )
