"""The dashboard image: four panels (volume per day by source, response times, SLA targets,
sentiment) drawn with matplotlib's Agg backend, so it renders on a server with no display. It uses a
`Figure` directly rather than pyplot, whose global figure registry is not safe across threads."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.reports.render_md import period_text
from bot.reports.report import Report
from bot.reports.texts import Lang, text

PANEL_TITLES = ("panel_volume", "panel_times", "panel_sla", "panel_sentiment")
_TONE_COLOURS = {"positive": "#2e9e5b", "neutral": "#b0b0b0", "negative": "#d1495b"}


def render_png(report: Report, lang: Lang, *, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    dashboard(report, lang, dpi=dpi).savefig(buffer, format="png")
    return buffer.getvalue()


def dashboard(report: Report, lang: Lang, *, dpi: int = 100) -> Figure:
    k = report.kpis
    days = [d.day[5:] for d in k.daily]  # MM-DD: the year is in the title
    positions = list(range(len(days)))
    figure = Figure(figsize=(13, 8), dpi=dpi)
    axes = figure.subplots(2, 2)
    figure.suptitle(f"{text('report_title', lang)} — {report.brand}\n{period_text(k, report.timezone, lang)}")
    volume, times, sla, tone = axes[0][0], axes[0][1], axes[1][0], axes[1][1]

    sources = sorted({s for d in k.daily for s in d.volume_by_source})
    bottom = [0] * len(days)
    for source in sources:
        counts = [d.volume_by_source.get(source, 0) for d in k.daily]
        volume.bar(positions, counts, bottom=bottom, label=source)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    if sources:
        volume.legend(fontsize="small")

    for attr, key in (
        ("first_response_median_s", "first_response_short"),
        ("resolution_median_s", "resolution_short"),
    ):
        values = [getattr(d, attr) / 3600 if getattr(d, attr) is not None else float("nan") for d in k.daily]
        times.plot(positions, values, marker="o", label=text(key, lang))
    times.set_ylabel(text("hours", lang))
    times.set_ylim(bottom=0)
    times.legend(fontsize="small")

    hit = [d.sla_hit for d in k.daily]
    missed = [d.sla_missed for d in k.daily]
    sla.bar(positions, hit, color="#2e9e5b", label=text("hit", lang))
    sla.bar(positions, missed, bottom=hit, color="#d1495b", label=text("missed", lang))
    sla.legend(fontsize="small")

    bottom = [0] * len(days)
    for name, colour in _TONE_COLOURS.items():
        counts = [getattr(d, name) for d in k.daily]
        tone.bar(positions, counts, bottom=bottom, color=colour, label=text(name, lang))
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    tone.legend(fontsize="small")

    step = max(1, len(days) // 10)  # keep at most ~10 tick labels readable on long periods
    for axis, key in zip((volume, times, sla, tone), PANEL_TITLES, strict=True):
        axis.set_title(text(key, lang))
        axis.set_xticks(positions[::step], days[::step], rotation=45, fontsize="small")
        axis.grid(axis="y", alpha=0.3)
        if axis is not times:
            axis.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.25 of an event
    figure.tight_layout()
    return figure
