"""`vigie crisis replay`: JSON lines per alert, and one-line errors naming file and line."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.crisis.cli import app
from bot.crisis.replay import read_counts, replay_counts
from tests.crisis.crisis_helpers import T0, event, quiet_baseline

NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab-realtweets"
runner = CliRunner()


def run(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = runner.invoke(app, ["replay", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def counts_file(tmp_path: Path, rows: list[float]) -> Path:
    path = tmp_path / "counts.csv"
    lines = ["timestamp,value"] + [
        f"{(T0 + i * timedelta(minutes=5)):%Y-%m-%d %H:%M:%S},{v:g}" for i, v in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_counts_print_one_json_line_per_alert(tmp_path: Path) -> None:
    code, lines, _ = run("--counts", str(counts_file(tmp_path, [2.0, 1.0, 3.0] * 150 + [45.0, 2.0])))
    assert code == 0
    assert len(lines) == 1
    assert lines[0]["at"] == "2026-03-03T13:30:00Z" and lines[0]["signal"] == "volume_spike"
    assert float(lines[0]["score"]) > 5  # type: ignore[arg-type]


@pytest.mark.skipif(not NAB.exists(), reason="NAB data not present")
def test_a_labelled_nab_anomaly_is_caught() -> None:
    alerts = list(replay_counts(read_counts(NAB / "Twitter_volume_CVS.csv")))
    assert any("2015-03-05T19:27" <= str(a["at"]) <= "2015-03-05T21:57" for a in alerts)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timestamp,value\n2026-03-02 00:00:00,3\n2026-03-02 00:05:00,x\n", ":3: not a number: 'x'"),
        ("timestamp,value\nyesterday,3\n", ":2: not an ISO timestamp"),
        ("2026-03-02 00:00:00,3,4\n", ":1: expected `timestamp,value`, got 3 field(s)"),
        (
            "2026-03-02 00:05:00,3\n2026-03-02 00:00:00,3\n",
            ":2: timestamp 2026-03-02 00:00:00 goes back in time",
        ),
        ("2026-03-02 00:00:00,-1\n", ":1: a count must be a finite number"),
    ],
)
def test_bad_csv_lines_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, _, err = run("--counts", str(path))
    assert code == 2
    assert err.strip() == f"error: {path}{message}" or (
        err.startswith(f"error: {path}{message}") and "\n" not in err.strip()
    )
    assert "Traceback" not in err


def test_missing_files_and_option_mistakes(tmp_path: Path) -> None:
    code, _, err = run("--counts", str(tmp_path / "nope.csv"))
    assert (
        code == 2 and err.strip() == f"error: {tmp_path / 'nope.csv'}: cannot read: No such file or directory"
    )
    assert run()[0] == 2
    assert run("--counts", "a.csv", "--events", "b.jsonl")[2].strip().startswith("error: give exactly one")


def test_bad_jsonl_lines_are_named(tmp_path: Path) -> None:
    good = event(1, T0).model_dump_json()
    path = tmp_path / "events.jsonl"
    path.write_text(good + "\n{oops\n")
    code, _, err = run("--events", str(path), "--no-rulebook")
    assert code == 2 and err.strip().startswith(f"error: {path}:2: invalid JSON")
    path.write_text(good + "\n\n" + good.replace('"rating":5', '"rating":9') + "\n")
    code, _, err = run("--events", str(path), "--no-rulebook")
    assert code == 2 and err.strip() == f"error: {path}:3: rating: Input should be less than or equal to 5"


def burst_file(tmp_path: Path) -> Path:
    start = T0 + timedelta(days=3, hours=10)
    burst = [event(1000 + k, start + timedelta(seconds=12 * k), 1) for k in range(50)]
    path = tmp_path / "events.jsonl"
    # Out of order on purpose: replay sorts by created_at.
    path.write_text("\n".join(e.model_dump_json() for e in [*burst, *quiet_baseline()]) + "\n")
    return path


def test_events_run_every_signal_and_say_which_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bot.rulebook", None)  # as if the rulebook were not written yet
    code, lines, err = run("--events", str(burst_file(tmp_path)), "--incidents", "--lang", "fr")
    assert code == 0
    assert "bot.rulebook is not importable" in err
    kinds = {line["signal"] for line in lines}
    assert {"negative_spike", "volume_spike", "rating_burst", "incident_open"} <= kinds
    opened = [line for line in lines if line["signal"] == "incident_open"]
    assert len(opened) == 1 and str(opened[0]["summary"]).startswith("Rafale de notes à 1–2 étoiles")
    assert all({"at", "signal", "score"} <= set(line) for line in lines)


def test_a_rules_directory_without_rule_packs_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "escalation.yaml").write_text("policies:\n  - {id: p, steps: [{notify: {roles: [lead]}}]}\n")
    code, _, err = run("--events", str(burst_file(tmp_path)), "--rules", str(tmp_path))
    assert code == 2 and err.startswith("error: rules: ") and len(err.strip().splitlines()) == 1
