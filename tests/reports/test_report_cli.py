"""The commands as the lead mounts them (`register(app)`), against the hand-checked week."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.reports.cli import register
from bot.store.unit import Store
from tests.reports.reports_history import populate

WORKSPACE_YAML = """\
language: fr
brand: {name: Maison Lune, aliases: [maisonlune], competitors: [Soleil & Co, Brume]}
channels: {inbox: {console: inbox}}
teams:
  care: {channel: inbox, timezone: Europe/Paris}
staff:
  camille: {name: Camille, roles: [admin], teams: [care]}
  tom: {name: Tom, teams: [care]}
  samir: {name: Samir, teams: [care]}
"""
RANGE = ["--since", "2026-11-16", "--until", "2026-11-23"]


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Vigie."""

    register(root)
    return root


@pytest.fixture
def env(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    workspace = tmp_path / "vigie.yaml"
    workspace.write_text(WORKSPACE_YAML, encoding="utf-8")
    monkeypatch.setenv("VIGIE_DATABASE_URL", store_url)
    monkeypatch.setenv("VIGIE_WORKSPACE", str(workspace))
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VIGIE_PRIVACY_SALT", raising=False)
    store = Store(store_url)
    populate(store)
    store.dispose()
    yield tmp_path


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_report_in_each_format(app: typer.Typer, env: Path) -> None:
    code, out, _ = run(app, "report", *RANGE)
    assert code == 0 and out.startswith("# Rapport communauté — Maison Lune")  # the workspace's language
    code, out, _ = run(app, "report", *RANGE, "--lang", "en", "--team", "care")
    assert code == 0 and "## Volume: 3 events" in out and "**Filters**: team=care" in out
    code, out, _ = run(app, "report", *RANGE, "--json")
    assert code == 0 and json.loads(out)["kpis"]["volume"]["total"] == 8
    for fmt in ("md", "json", "csv", "png"):
        target = env / f"report.{fmt}"
        code, _, err = run(app, "report", *RANGE, "--output", str(target))
        assert code == 0, err
        assert target.stat().st_size > 100
    assert (env / "report.png").read_bytes().startswith(b"\x89PNG")
    rows = list(csv.DictReader((env / "report.csv").open(encoding="utf-8")))
    assert {"metric": "volume.total", "value": "8", "previous": "3"} in rows


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "--since", "yesterday"], "vigie: not a time: 'yesterday'"),
        (["report", "--format", "png"], "vigie: the png format needs --output FILE"),
        (["report", "--format", "pdf", "--output", "x.pdf"], "vigie: unknown format 'pdf'"),
        (["export", "--since", "7d", "--kind", "people"], "vigie: unknown kind 'people'"),
        (["export", "--since", "7d", "--format", "csv"], "vigie: csv export writes one file per kind"),
        (["forget", "--author", "nobody", "--yes"], "vigie: --author must look like SOURCE:ID"),
    ],
)
def test_failures_are_one_line_without_traceback(
    app: typer.Typer, env: Path, args: list[str], message: str
) -> None:
    code, _, err = run(app, *args)
    assert code == 2
    assert err.startswith(message) and len(err.strip().splitlines()) == 1


def test_an_unreachable_store_is_one_line(
    app: typer.Typer, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_DATABASE_URL", f"sqlite:///{env / 'missing' / 'x.db'}")
    code, _, err = run(app, "audit")
    assert code == 2 and err.startswith("vigie: OperationalError") and "Traceback" not in err


def test_audit_by_case_user_and_time(app: typer.Typer, env: Path) -> None:
    code, out, _ = run(app, "audit", "--case", "1", "--json")
    assert code == 0
    assert [(e["action"], e["subject"]) for e in json.loads(out)] == [
        ("case.assigned", "case:1"),
        ("draft.sent", "draft:1"),
    ]
    code, out, _ = run(app, "audit", "--user", "lea", "--json")
    assert len(json.loads(out)) == 6
    code, out, _ = run(app, "audit", "--since", "2026-11-18", "--until", "2026-11-19", "--action", "crisis")
    lines = out.strip().splitlines()
    assert len(lines) == 3 and lines[0].split()[1:5] == ["lea", "slack", "crisis.open", "incident:a"]
    code, out, err = run(app, "audit", "--user", "nobody")
    assert code == 0 and out == "" and "no audit entries" in err


def test_export_jsonl_of_a_range(app: typer.Typer, env: Path) -> None:
    target = env / "export.jsonl"
    code, out, _ = run(app, "export", *RANGE, "--output", str(target), "--no-progress", "--json")
    assert code == 0
    summary = json.loads(out)
    # e1..e9 (not p1..p3), cases 1-3, draft 1, effects of the week, audit entries of the week
    assert summary["counts"] == {"events": 9, "cases": 3, "drafts": 1, "actions": 8, "audit": 6}
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 27
    assert [line["type"] for line in lines[:1]] == ["event"]
    assert lines[0]["event"]["text"] == "Love Maison Lune!" and lines[0]["labels"] == ["praise"]


def test_export_csv_one_file_per_kind_with_progress(app: typer.Typer, env: Path) -> None:
    target = env / "csv"
    code, _, err = run(
        app,
        "export",
        "--since",
        "2026-11-01",
        "--until",
        "2026-12-01",
        "--format",
        "csv",
        "--kind",
        "events,cases",
        "--output",
        str(target),
    )
    assert code == 0, err
    assert "exported 12 events, 5 cases" in err
    events = list(csv.DictReader((target / "events.csv").open(encoding="utf-8")))
    assert len(events) == 12 and json.loads(events[0]["event"])["source"] == "instagram"
    assert sorted(p.name for p in target.iterdir()) == ["cases.csv", "events.csv"]


def test_forget_says_what_it_removed(app: typer.Typer, env: Path) -> None:
    code, out, _ = run(app, "forget", "--author", "google-reviews:g-77", "--yes", "--as", "camille", "--json")
    assert code == 0 and json.loads(out)["events"] == 2
    assert (env / "data" / "privacy-salt").exists()
    code, out, _ = run(app, "forget", "--author", "google-reviews:g-77", "--yes", "--as", "camille")
    assert code == 0 and out.strip() == "nothing stored for google-reviews:g-77"
    code, _out, err = run(app, "forget", "--author", "google-reviews:g-77", "--yes", "--as", "tom")
    assert code != 0 and "admin" in err
    result = CliRunner().invoke(app, ["forget", "--author", "instagram:x", "--as", "camille"], input="n\n")
    assert result.exit_code == 1


def test_retention_show_and_run(app: typer.Typer, env: Path) -> None:
    code, out, _ = run(app, "retention", "show", "--json")
    data = json.loads(out)
    assert data["keep"]["events"] == 365 * 86400 and data["expired"] == dict.fromkeys(data["expired"], 0)
    code, out, _ = run(app, "retention", "run")
    assert code == 0 and out.startswith("deleted 0 console_messages")
