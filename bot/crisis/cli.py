"""`vigie crisis`: replay streams through crisis detection (ack, resolve and silence come later).

Failures are one line on stderr naming the file and line, with exit code 2 for bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.crisis.policy import PolicyError
from bot.crisis.replay import (
    ReplayError,
    detection_config,
    read_counts,
    read_events,
    replay_counts,
    replay_events,
    rulebook_facts,
)
from bot.crisis.signals import facts_without_rulebook

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules"

app = typer.Typer(
    help="Crisis detection and escalation: replay a stream through the detectors, without side effects.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    """Keeps `replay` a subcommand while it is the only one."""


@app.command()
def replay(
    counts: Annotated[
        Path | None, typer.Option("--counts", help="CSV of `timestamp,value`: counts per 5-minute bucket.")
    ] = None,
    events: Annotated[
        Path | None, typer.Option("--events", help="JSONL of events (created_at is the time).")
    ] = None,
    rules: Annotated[
        Path, typer.Option("--rules", help="Rules directory: rule packs and escalation.yaml.")
    ] = DEFAULT_RULES,
    threshold: Annotated[float | None, typer.Option(help="Override the spike z threshold.")] = None,
    no_rulebook: Annotated[bool, typer.Option("--no-rulebook", help="Use the 1–2 star fallback.")] = False,
    incidents: Annotated[bool, typer.Option("--incidents", help="Also print incident decisions.")] = False,
    lang: Annotated[str, typer.Option(help="Language of incident summaries: en or fr.")] = "en",
) -> None:
    """Print one JSON line per alert: {"at": ..., "signal": ..., "score": ...}."""
    if (counts is None) == (events is None):
        _fail("give exactly one of --counts FILE.csv or --events FILE.jsonl")
    try:
        config = detection_config(rules)
        if threshold is not None:
            spike = config.spike.model_copy(update={"threshold": threshold})
            config = config.model_copy(update={"spike": spike})
        if counts is not None:
            scope = f"counts:{counts.stem}"
            for line in replay_counts(read_counts(counts), config.spike, scope=scope):
                _emit(line)
            return
        assert events is not None
        stream = read_events(events)
        if no_rulebook:
            facts, how = (
                facts_without_rulebook,
                "--no-rulebook: 1–2 star ratings count as negative, no rule weights",
            )
        else:
            facts, how = _load_rulebook(rules)
        typer.echo(f"facts: {how}", err=True)
        for line in replay_events(stream, facts, config, incidents=incidents, lang=lang):
            _emit(line)
    except (ReplayError, PolicyError) as error:
        _fail(str(error))


def _load_rulebook(rules: Path) -> tuple[Any, str]:
    try:
        return rulebook_facts(rules)
    except Exception as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        _fail(f"rules: {message} (--no-rulebook replays without them)")
        raise  # unreachable: _fail exits


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
