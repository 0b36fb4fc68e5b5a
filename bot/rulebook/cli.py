"""`vigie rules ...`: check, test, schema, stats, reload.

Errors come out as one line each and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from bot.events import Event
from bot.rulebook.compiler import load_rulebook
from bot.rulebook.evaluate import Rulebook
from bot.rulebook.loader import RulebookError
from bot.rulebook.schema import json_schema
from bot.rulebook.selftest import run_inline_tests
from bot.rulebook.stats import RuleCounters
from bot.rulebook.windows import MemoryWindowCounter

app = typer.Typer(
    help="Rule packs: validate, test on events, JSON Schema, statistics, reload.", no_args_is_help=True
)

RulesDir = Annotated[Path, typer.Argument(help="Rules directory (or one rule file).")]
DEFAULT_DIR = Path(os.environ.get("VIGIE_RULES_DIR", "rules"))


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _load(path: Path) -> Rulebook:
    try:
        return load_rulebook(path)
    except RulebookError as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        raise _fail(f"{len(exc.errors)} error(s) in {path}") from None


@app.command()
def check(path: RulesDir = DEFAULT_DIR) -> None:
    """Validate every rule file and run every rule's inline tests."""
    rulebook = _load(path)
    ran, failures = run_inline_tests(rulebook)
    for failure in failures:
        typer.echo(str(failure), err=True)
    if failures:
        raise _fail(f"{len(failures)} of {ran} inline tests failed in {path}")
    typer.echo(f"ok: {len(rulebook.rules)} rules, {ran} inline tests passed (version {rulebook.version})")


def _explain(verdict: Any) -> list[dict[str, Any]]:
    return [
        {"rule": h.rule, "matched": list(h.matched), "normalized": list(h.normalized)} for h in verdict.hits
    ]


@app.command()
def test(
    input: Annotated[str, typer.Option("--input", "-i", help="JSONL file of events, or - for stdin.")],
    rules: Annotated[Path, typer.Option("--rules", "-r", help="Rules directory.")] = DEFAULT_DIR,
    explain: Annotated[bool, typer.Option("--explain", help="Show what matched, and in which form.")] = False,
) -> None:
    """Evaluate events without side effects; one JSON line per event, in input order."""
    rulebook = _load(rules)
    try:
        stream = sys.stdin if input == "-" else open(input, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise _fail(f"cannot read {input}: {exc.strerror}") from None
    counter = MemoryWindowCounter()
    bad = 0
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                event = Event.model_validate_json(line)
            except ValidationError as exc:
                bad += 1
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "event"
                typer.echo(f"{input}:{number}: invalid event: {where}: {first['msg']}", err=True)
                continue
            verdict = rulebook.evaluate(event, counter=counter, explain=explain)
            out: dict[str, Any] = {
                "external_id": event.external_id,
                "labels": list(verdict.labels),
                "actions": [a.model_dump(mode="json") for a in verdict.actions],
                "rules": list(verdict.rules),
                "route": verdict.route.team if verdict.route else None,
                "crisis": verdict.crisis,
            }
            if explain:
                out["explain"] = _explain(verdict)
            typer.echo(json.dumps(out, ensure_ascii=False))
    if bad:
        raise _fail(f"{bad} invalid event line(s) in {input}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of rule files (for yaml-language-server and other editors)."""
    typer.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def _redis_url(url: str | None) -> str:
    found = url or os.environ.get("VIGIE_REDIS_URL")
    if not found:
        raise _fail("no Redis: set VIGIE_REDIS_URL or pass --redis-url")
    return found


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    redis_url: Annotated[str | None, typer.Option("--redis-url", help="Defaults to VIGIE_REDIS_URL.")] = None,
) -> None:
    """Per-rule evaluations, hits, actions, human overrides and cost, as flushed by workers."""
    from bot.store.counters import RedisStatsSink

    try:
        totals = RedisStatsSink.from_url(_redis_url(redis_url)).read()
    except OSError as exc:
        raise _fail(f"cannot read statistics from Redis: {exc}") from None
    _print_stats(totals, as_json)


def _print_stats(totals: dict[str, RuleCounters], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({rule: c.as_dict() for rule, c in sorted(totals.items())}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("rule", "evaluations", "hits", "actions", "overrides", "µs/eval", "total µs")
    for rule, counters in sorted(totals.items(), key=lambda item: -item[1].hits):
        row = counters.as_dict()
        table.add_row(
            rule,
            *(str(row[k]) for k in ("evaluations", "hits", "actions", "overrides", "mean_us", "total_us")),
        )
    Console().print(table)


@app.command()
def reload(
    path: RulesDir = DEFAULT_DIR,
    redis_url: Annotated[str | None, typer.Option("--redis-url", help="Defaults to VIGIE_REDIS_URL.")] = None,
) -> None:
    """Validate the rules, then tell running workers to reload them (through Redis)."""
    rulebook = _load(path)
    ran, failures = run_inline_tests(rulebook)
    for failure in failures:
        typer.echo(str(failure), err=True)
    if failures:
        raise _fail(f"{len(failures)} of {ran} inline tests failed: workers keep their rulebook")
    url = redis_url or os.environ.get("VIGIE_REDIS_URL")
    if not url:
        typer.echo(f"ok: version {rulebook.version} (no VIGIE_REDIS_URL: running bots reload on file change)")
        return
    from bot.store.counters import bump_generation

    try:
        generation = bump_generation(url)
    except OSError as exc:
        raise _fail(f"rules are valid but Redis could not be told: {exc}") from None
    typer.echo(f"ok: version {rulebook.version}, reload generation {generation}")
