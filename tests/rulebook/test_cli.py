from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from bot.rulebook.cli import app
from bot.rulebook.stats import RuleCounters
from bot.store.counters import GENERATION_KEY, RedisStatsSink
from tests.rulebook.rulebook_helpers import RULES

runner = CliRunner()

EVENTS = [
    {
        "source": "discord",
        "kind": "comment",
        "external_id": "1",
        "text": "t'es un c0nnard",
        "author": {"id": "u1"},
    },
    {
        "source": "google-reviews",
        "kind": "review",
        "external_id": "2",
        "text": "Colis arrivé cassé, et personne ne répond au téléphone.",
        "author": {"id": "u2"},
        "rating": 1,
    },
    {
        "source": "instagram",
        "kind": "comment",
        "external_id": "3",
        "text": "Toute la famille intoxiquée après vos plats",
        "author": {"id": "u3"},
    },
]


def test_check_passes_on_default_packs() -> None:
    result = runner.invoke(app, ["check", str(RULES)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_check_fails_with_every_error(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a="rules:\n  - id: r\n    when: {kind: nope}\n    then: [hid]\n")
    result = runner.invoke(app, ["check", str(folder)])
    assert result.exit_code == 1
    assert "a.yaml:3:" in result.output and "a.yaml:4:" in result.output
    assert "Traceback" not in result.output


def test_check_reports_failing_inline_tests(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(
        a="rules:\n  - id: r\n    when: {text: {words: [x]}}\n    then: [hide]\n"
        "    tests: {match: [y], no_match: [x]}\n"
    )
    result = runner.invoke(app, ["check", str(folder)])
    assert result.exit_code == 1
    assert "should fire on 'y'" in result.output and "should not fire on 'x'" in result.output


def test_test_command_prints_one_line_per_event_in_order(tmp_path: Path) -> None:
    lines = [json.dumps(e) for e in EVENTS]
    lines.insert(1, "{not json")
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["test", "--input", str(source), "--rules", str(RULES), "--explain"])
    assert result.exit_code == 1  # the bad line
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["external_id"] for o in out] == ["1", "2", "3"]
    assert set(out[0]) == {"external_id", "labels", "actions", "rules", "route", "crisis", "explain"}
    assert "toxic" in out[0]["labels"] and out[0]["crisis"] is False
    assert out[0]["explain"][0]["matched"] == ["c0nnard"]
    assert out[0]["explain"][0]["normalized"] == ["connard"]
    assert out[1]["route"] == "after-sales" and "negative" in out[1]["labels"]
    assert out[2]["crisis"] is True and out[2]["route"] == "quality"
    assert "events.jsonl:2: invalid event" in result.stderr


def test_test_command_reads_stdin() -> None:
    result = runner.invoke(app, ["test", "-i", "-", "-r", str(RULES)], input=json.dumps(EVENTS[0]) + "\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rules"] == ["insults", "negative"]


def test_missing_input_is_one_line() -> None:
    result = runner.invoke(app, ["test", "-i", "/nope.jsonl", "-r", str(RULES)])
    assert result.exit_code == 1 and "cannot read /nope.jsonl" in result.output


def test_schema_is_json() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0 and json.loads(result.stdout)["title"] == "Vigie rule file"


def test_stats_and_reload_through_redis(redis_client: redis.Redis, redis_url: str) -> None:
    RedisStatsSink(redis_client).add({"insults": RuleCounters(evaluations=4, hits=1, actions=4)})
    result = runner.invoke(app, ["stats", "--json", "--redis-url", redis_url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["insults"]["hits"] == 1
    assert runner.invoke(app, ["stats", "--redis-url", redis_url]).exit_code == 0
    result = runner.invoke(app, ["reload", str(RULES), "--redis-url", redis_url])
    assert result.exit_code == 0, result.output
    assert int(redis_client.get(GENERATION_KEY) or 0) == 1


def test_stats_without_redis_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIE_REDIS_URL", raising=False)
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 1 and "VIGIE_REDIS_URL" in result.output
