"""A report in each format, from the hand-checked week: Markdown (both languages), JSON, CSV, PNG."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from matplotlib import image

from bot.reports.render_csv import render_csv
from bot.reports.render_md import render_markdown, render_summary
from bot.reports.render_png import dashboard
from bot.reports.report import Report, build_report, load_report
from bot.reports.service import demo_report
from bot.store.unit import Store
from bot.workspace import Workspace
from tests.reports.reports_history import NOW, SINCE, UNTIL


@pytest.fixture
def report(history: Store, workspace: Workspace) -> Report:
    return load_report(history, workspace, since=SINCE, until=UNTIL, now=NOW)


def test_markdown_in_english_and_french(report: Report) -> None:
    en = render_markdown(report, "en")
    fr = render_markdown(report, "fr")
    assert en.startswith("# Community report — Maison Lune")
    assert "## Volume: 8 events" in en
    assert "## SLA hit rate: 75.0%" in en
    assert "| Volume | 8 | 3 | ↑ 166.7% |" in en
    assert fr.startswith("# Rapport communauté — Maison Lune")
    assert "## Taux de respect des SLA : 75,0 %" in fr or "## Taux de respect des SLA: 75,0 %" in fr
    assert "16 nov. 2026" in fr and "16 Nov 2026" in en
    assert "1 h 30" in fr and "1h30m" in en  # median first response in business hours


def test_summary_is_short_and_in_both_languages(history: Store, workspace: Workspace) -> None:
    out = build_report(history, workspace, since=SINCE, until=UNTIL, now=NOW, chart=False)
    assert set(out.summary) == set(out.markdown) == {"en", "fr"}
    assert len(out.summary["en"].splitlines()) == 6
    assert "Indice de satisfaction: 55,6" in out.summary["fr"]
    assert out.png is None
    assert out.summary["en"] == render_summary(out.report, "en")


def test_json_round_trips(report: Report) -> None:
    data = json.loads(report.model_dump_json())
    assert data["kpis"]["volume"]["total"] == 8
    assert data["trend"]["volume"]["delta"] == 5
    assert Report.model_validate(data) == report


def test_csv_has_a_row_per_measure_with_the_previous_value(report: Report) -> None:
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(render_csv(report)))}
    assert rows["volume.total"]["value"] == "8" and rows["volume.total"]["previous"] == "3"
    assert rows["sla.hit_rate"]["value"] == "0.75"
    assert rows["volume.by_source.instagram"]["value"] == "3"
    assert rows["daily.2026-11-17.sla_missed"]["value"] == "1"
    assert rows["top_labels.after-sales"]["value"] == "3"
    assert rows["share_of_voice.share.Brume"]["value"] == "0.25"


def test_png_dashboard_opens_and_has_the_four_panels(history: Store, workspace: Workspace) -> None:
    out = build_report(history, workspace, since=SINCE, until=UNTIL, now=NOW)
    assert out.png is not None and out.png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = image.imread(io.BytesIO(out.png), format="png")
    assert pixels.shape[:2] == (800, 1300)
    titles = [axis.get_title() for axis in dashboard(out.report, "fr").axes]
    assert titles == [
        "Volume par jour et par source",
        "Délais (médiane, heures ouvrées)",
        "Objectifs SLA par jour",
        "Tonalité par jour",
    ]
    volume = dashboard(out.report, "en").axes[0]
    assert sorted(t.get_text() for t in volume.get_legend().get_texts()) == [
        "discord",
        "google-reviews",
        "instagram",
        "trustpilot",
    ]


def test_demo_report_writes_markdown_and_png(history: Store, workspace: Workspace, tmp_path: Path) -> None:
    demo = demo_report(history, workspace, tmp_path / "demo", since="2026-11-16", now=NOW)
    assert demo.markdown_path.read_text(encoding="utf-8") == demo.markdown
    assert demo.png_path.read_bytes().startswith(b"\x89PNG")
    assert demo.summary.startswith("*Community report — Maison Lune*")
