"""The `vigie` command. Every command that lists or shows has `--json`; every failure is one line on
stderr and a non-zero exit code, never a traceback (set VIGIE_DEBUG=1 to see one)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bot.settings import Settings, SettingsError, load_settings
from bot.workspace import DEFAULT_WORKSPACE_YAML, WorkspaceError, load_workspace

app = typer.Typer(
    name="vigie",
    help="Vigie: mirror, moderate, route and answer your community from your team's chat.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Settings and the workspace file.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
event_app = typer.Typer(help="Stored events.", no_args_is_help=True)
channel_app = typer.Typer(help="Console team channels.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(event_app, name="event")
app.add_typer(channel_app, name="channel")

out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class CliError(Exception):
    """A failure to report as one line, with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def settings() -> Settings:
    value = load_settings()
    value.workspace_config  # noqa: B018  (validate vigie.yaml now: a bad file stops here, named)
    return value


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


@app.command()
def init(
    path: Annotated[Path, typer.Option(help="Where to write the workspace file.")] = Path("vigie.yaml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented vigie.yaml for a new team."""
    if path.exists() and not force:
        raise CliError(f"{path} exists; use --force to overwrite it")
    path.write_text(DEFAULT_WORKSPACE_YAML, encoding="utf-8")
    load_workspace(path)
    out.print(f"Wrote {path}. Edit it, then run `vigie config check`.")


@config_app.command("check")
def config_check(as_json: JsonFlag = False) -> None:
    """Validate the settings and vigie.yaml and print the effective settings (secrets masked)."""
    current = settings()
    workspace = current.workspace_config
    data = current.masked()
    data["workspace_file"] = str(current.workspace_path) if current.workspace_path else "(built-in default)"
    data["rules_dir"] = str(current.rules_path)
    data["workspace"] = {
        "language": workspace.language,
        "teams": sorted(workspace.teams),
        "staff": {k: v.roles for k, v in workspace.staff.items()},
        "channels": sorted(workspace.channels),
    }
    if as_json:
        emit_json(data)
        return
    out.print_json(json.dumps(data, default=str))
    out.print("[green]Configuration is valid.[/green]")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from bot.store.base import make_engine
    from bot.store.migrate import current, upgrade

    engine = make_engine(settings().sqlalchemy_url)
    upgrade(engine)
    out.print(f"Database at revision {current(engine)}.")
    engine.dispose()


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default 2).")] = None,
) -> None:
    """All in one: HTTP server, workers with the scheduler, configured platforms; Ctrl-C stops all."""
    from bot.server import run_all

    current = settings()
    run_all(
        current,
        host or current.http.host,
        current.http.port if port is None else port,
        workers or current.worker.processes,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """The HTTP role only: webhooks, Slack endpoints, health, metrics."""
    from bot.server import serve as serve_http

    current = settings()
    serve_http(current, host or current.http.host, current.http.port if port is None else port)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Process what is queued, then exit.")] = False,
) -> None:
    """An RQ worker with the scheduler and the sweeper."""
    from bot.server import worker_main

    worker_main(settings(), burst=burst)


@app.command()
def discord() -> None:
    """The Discord gateway connection(s) (AutoShardedClient when VIGIE_DISCORD__SHARD_COUNT is set)."""
    from bot.server import run_discord

    run_discord(settings())


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="JSONL file of events, one per line ('-' for stdin).")],
    as_json: JsonFlag = False,
) -> None:
    """Bulk import events: stored once each, enqueued for the workers."""
    from bot.bulk import ingest_file
    from bot.runtime import build_runtime

    runtime = build_runtime(settings(), migrate=True)
    try:
        summary = ingest_file(runtime, file, progress=not as_json)
    finally:
        runtime.close()
    if as_json:
        emit_json(summary)
    else:
        out.print(
            f"stored {summary['stored']}, duplicate {summary['duplicate']}, invalid {summary['invalid']}"
        )
        for problem in summary["errors"][:50]:
            err.print(f"  {file}:{problem['line']}: {problem['field']}: {problem['message']}")
    if summary["invalid"]:
        raise typer.Exit(1)


@event_app.command("show")
def event_show(event_id: str, as_json: JsonFlag = False) -> None:
    """An event, its verdict and the state of each effect."""
    from bot.store.unit import Store

    store = Store(settings().sqlalchemy_url)
    try:
        with store.unit() as unit:
            row = unit.events.get(event_id)
            if row is None:
                raise CliError(f"no event {event_id}")
            verdict = unit.events.verdict(event_id)
            data = {
                "id": row.id,
                "status": row.status,
                "case_id": row.case_id,
                "event": row.payload,
                "verdict": verdict.model_dump(mode="json") if verdict else None,
                "effects": [
                    {"key": e.key, "status": e.status, "attempts": e.attempts, "error": e.error}
                    for e in unit.effects.for_subject(event_id)
                ],
            }
    finally:
        store.dispose()
    if as_json:
        emit_json(data)
    else:
        out.print_json(json.dumps(data, default=str))


@channel_app.command("show")
def channel_show(
    name: Annotated[str | None, typer.Argument(help="Channel; all when omitted.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show console team channels and their threads."""
    from bot.platforms.console.chat import channel_names, read_channel
    from bot.platforms.console.render import print_channel
    from bot.store.unit import Store

    store = Store(settings().sqlalchemy_url)
    try:
        names = [name] if name else channel_names(store)
        if as_json:
            emit_json(
                {
                    n: [
                        {"id": i, "thread": t, **c.model_dump(mode="json")}
                        for i, t, c in read_channel(store, n)
                    ]
                    for n in names
                }
            )
            return
        for channel in names:
            print_channel(out, store, channel)
    finally:
        store.dispose()


@app.command()
def demo(
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the demo's data here (default: a temp dir).")
    ] = None,
    report_dir: Annotated[
        Path, typer.Option(help="Where the scenario's report and PNG dashboard are written.")
    ] = Path("vigie-demo-report"),
    as_json: JsonFlag = False,
) -> None:
    """Replay a bundled scenario through the real pipeline on the embedded default, then summarise."""
    from bot.demo import run_demo

    run_demo(data_dir=data_dir, report_dir=report_dir, as_json=as_json, console=out)


def _mount_optional() -> None:
    """Feature CLIs live beside their code; each is mounted here."""
    from bot.casework.cli import case_app, draft_app
    from bot.crisis.cli import app as crisis_app
    from bot.reports.cli import register as register_reports
    from bot.rulebook.cli import app as rules_app

    app.add_typer(rules_app, name="rules")
    app.add_typer(crisis_app, name="crisis")
    app.add_typer(case_app, name="case")
    app.add_typer(draft_app, name="draft")
    register_reports(app)


def main() -> None:
    debug = bool(os.environ.get("VIGIE_DEBUG"))
    try:
        _mount_optional()
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except CliError as error:
        err.print(f"vigie: {error}", highlight=False, markup=False)
        raise SystemExit(error.code) from None
    except (SettingsError, WorkspaceError) as error:
        err.print(f"vigie: invalid configuration:\n{error}", highlight=False, markup=False)
        raise SystemExit(2) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except typer.Abort:
        err.print("vigie: aborted")
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as error:
        if debug:
            raise
        import click

        if isinstance(error, click.ClickException):
            error.show()
            raise SystemExit(error.exit_code) from None
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        err.print(f"vigie: {error.__class__.__name__}: {reason}", highlight=False, markup=False)
        raise SystemExit(1) from None
