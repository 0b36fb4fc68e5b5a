"""`vigie crisis`: replay streams through crisis detection, and act on live incidents.

    vigie crisis list [--all] [--json]          vigie crisis show INCIDENT [--json]
    vigie crisis ack [INCIDENT] --as STAFF      vigie crisis resolve [INCIDENT] --as STAFF
    vigie crisis silence [INCIDENT] --for 2h | --until 2026-11-20T18:00+01:00 --as STAFF
    vigie crisis oncall --as STAFF

The incident commands go through `bot.crisis_service.dispatch_crisis`, as the Slack and Discord
buttons do, and the role is checked there. Failures are one line on stderr, never a traceback: exit
1 when refused, 2 for bad input or when Vigie cannot start."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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

if TYPE_CHECKING:
    from bot.runtime import Runtime

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules"

app = typer.Typer(
    help="Crisis detection and escalation: replay streams through the detectors; list, acknowledge, "
    "resolve and silence incidents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    """Crisis detection and escalation."""


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


# -- live incidents ------------------------------------------------------------------------------

RuntimeFactory = Callable[[], "Runtime"]
_factory: RuntimeFactory | None = None
_runtime: Runtime | None = None

AsStaff = Annotated[
    str | None, typer.Option("--as", help="Staff id from vigie.yaml acting (default: $VIGIE_AS).")
]
IncidentArg = Annotated[
    str | None, typer.Argument(help="Incident id (inc-…); the latest open one when absent.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def set_runtime_factory(factory: RuntimeFactory | None) -> None:
    """Tell the CLI how to build its runtime (tests, embedders); the default reads the settings."""
    global _factory, _runtime
    _factory, _runtime = factory, None


def _get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        try:
            if _factory is not None:
                _runtime = _factory()
            else:
                from bot.runtime import build_runtime
                from bot.settings import load_settings

                _runtime = build_runtime(load_settings())
        except Exception as error:  # configuration problems must read as one line, not a traceback
            _exit(f"vigie: cannot start: {_first_line(error)}", 2)
    return _runtime


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _exit(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _actor(as_staff: str | None) -> str:
    actor = as_staff or os.environ.get("VIGIE_AS")
    if not actor:
        _exit("error: say who acts: --as STAFF (a staff id from vigie.yaml) or VIGIE_AS", 2)
    return actor


def _dispatch(verb: str, actor: str, args: dict[str, Any], as_json: bool) -> None:
    from bot.crisis_service import dispatch_crisis
    from bot.ports import StaffCommand

    runtime = _get_runtime()
    clean = {key: value for key, value in args.items() if value is not None}
    try:
        result = dispatch_crisis(runtime, StaffCommand(door="cli", actor=actor, verb=verb, args=clean))
    except Exception as error:  # a store or Redis outage: one line, not a traceback
        _exit(f"vigie: crisis {verb} failed: {type(error).__name__}: {_first_line(error)}", 2)
    if as_json:
        _emit({"ok": result.ok, "message": result.message, **result.data})
    elif result.ok:
        typer.echo(result.message)
    if not result.ok:
        if not as_json:
            typer.echo(result.message, err=True)
        raise typer.Exit(1)


@app.command()
def ack(incident: IncidentArg = None, as_staff: AsStaff = None, as_json: AsJson = False) -> None:
    """Acknowledge an incident: paging stops. Approvers, leads, admins and moderators."""
    _dispatch("ack", _actor(as_staff), {"incident_id": incident}, as_json)


@app.command()
def resolve(incident: IncidentArg = None, as_staff: AsStaff = None, as_json: AsJson = False) -> None:
    """Resolve an incident: its card says so, nobody is paged. Leads and admins."""
    _dispatch("resolve", _actor(as_staff), {"incident_id": incident}, as_json)


@app.command()
def silence(
    incident: IncidentArg = None,
    duration: Annotated[str | None, typer.Option("--for", help="How long: 30m, 2h (default 1h).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Until an ISO time.")] = None,
    as_staff: AsStaff = None,
    as_json: AsJson = False,
) -> None:
    """Hold the paging of an incident for a while; it resumes where it was."""
    if duration and until:
        _exit("error: give --for or --until, not both", 2)
    _dispatch(
        "silence", _actor(as_staff), {"incident_id": incident, "duration": duration, "until": until}, as_json
    )


@app.command()
def oncall(as_staff: AsStaff = None, as_json: AsJson = False) -> None:
    """Who a new incident would page, per escalation policy."""
    _dispatch("oncall", _actor(as_staff), {}, as_json)


@app.command(name="list")
def list_(
    include_resolved: Annotated[bool, typer.Option("--all", help="Resolved incidents too.")] = False,
    as_json: AsJson = False,
) -> None:
    """Incidents, newest first: open and acknowledged ones (with --all, resolved ones too)."""
    from bot.crisis_service import list_incidents

    runtime = _get_runtime()
    try:
        rows = list_incidents(runtime, include_resolved=include_resolved)
    except Exception as error:
        _exit(f"vigie: crisis list failed: {type(error).__name__}: {_first_line(error)}", 2)
    if as_json:
        _emit({"incidents": rows})
        return
    for row in rows:
        typer.echo(
            f"{row['id']}  {row['status']:<12} {row['severity']:<8} {row['opened_at']}  {row['title']}"
        )


@app.command()
def show(
    incident: Annotated[str, typer.Argument(help="Incident id (inc-…).")], as_json: AsJson = False
) -> None:
    """One incident: state, summary and timeline."""
    from bot.crisis_service import show_incident

    runtime = _get_runtime()
    try:
        view = show_incident(runtime, incident)
    except Exception as error:
        _exit(f"vigie: crisis show failed: {type(error).__name__}: {_first_line(error)}", 2)
    if view is None:
        _exit(f"error: no incident {incident}", 1)
    if as_json:
        _emit(view)
        return
    typer.echo(f"{view['id']}  {view['status']}  {view['severity']}  {view['title']}")
    typer.echo(str(view["summary"]))
    timeline = view.get("timeline")
    for entry in timeline if isinstance(timeline, list) else []:
        what = entry.get("signal") or entry.get("event_id") or entry.get("detail", {}).get("action") or ""
        typer.echo(f"  {entry['at']}  {entry['kind']:<7} {what}")
