"""`vigie report`, `vigie audit`, `vigie export`, `vigie forget` and `vigie retention show|run`.

`bot.cli` mounts them with `register(app)`. Settings and vigie.yaml are read the usual way
(`VIGIE_*`, .env). Every listing command has `--json`; every failure is one line on stderr and a
non-zero exit (1: refused or not found, 2: bad arguments or configuration), never a traceback."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TextIO

import typer

from bot.events import utcnow
from bot.reports.history import EXPORT_TYPES, audit_line, write_csv, write_jsonl
from bot.reports.kpis import Filters
from bot.reports.period import PeriodError, parse_period
from bot.reports.retention import retention_of
from bot.reports.texts import Lang

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.unit import Store
    from bot.workspace import Workspace

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Since = Annotated[
    str, typer.Option(help="Start: a duration back from now (7d, 12h) or a date/time (2026-11-01).")
]
Until = Annotated[
    str | None, typer.Option(help="End (default now): a date/time, or a duration back from now.")
]
AUTHOR = re.compile(r"^(?P<source>[a-z0-9][a-z0-9_.-]*):(?P<id>.+)$")
SALT_FILE = "privacy-salt"

retention_app = typer.Typer(help="Retention: how long each kind of data is kept.", no_args_is_help=True)


class Refused(Exception):
    """One line for the user; `code` 1 for refused or not found, 2 for bad input."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"vigie: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except Refused as error:
        _fail(str(error), error.code)
    except PeriodError as error:
        _fail(str(error), 2)
    except OSError as error:
        _fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "), 2)
    except Exception as error:  # a store outage or a bad configuration: say it, once
        if os.environ.get("VIGIE_DEBUG"):
            raise
        reason = str(error).splitlines()[0] if str(error) else ""
        _fail(f"{type(error).__name__}: {reason}", 2)


@contextmanager
def _context() -> Iterator[tuple[Settings, Store, Workspace]]:
    from bot.settings import load_settings
    from bot.store.unit import Store

    settings = load_settings()
    workspace = settings.workspace_config
    store = Store(settings.sqlalchemy_url)
    try:
        yield settings, store, workspace
    finally:
        store.dispose()


def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


# --- report ---------------------------------------------------------------------------------------

Format = Literal["md", "json", "csv", "png"]


def report_command(
    since: Since = "7d",
    until: Until = None,
    team: Annotated[str | None, typer.Option(help="Only this team's cases and traffic.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    label: Annotated[str | None, typer.Option(help="Only events and cases with this label.")] = None,
    staff: Annotated[str | None, typer.Option(help="Only cases assigned to this staff member.")] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="md, json, csv or png (default: from --output, else md).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write here instead of stdout (needed for png).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="fr or en (default: the workspace's language).")] = None,
    as_json: Json = False,
) -> None:
    """KPIs of a period against the previous one: volume, response times, SLA, satisfaction, moderation…"""
    with _one_line():
        fmt = _format(format_, output, as_json)
        with _context() as (_settings, store, workspace):
            language = _lang(lang, workspace)
            from bot.reports.report import load_report

            report = load_report(
                store,
                workspace,
                since=since,
                until=until,
                filters=Filters(source=source, team=team, label=label, staff=staff),
            )
        data: str | bytes
        if fmt == "json":
            data = report.model_dump_json(indent=None if output is None else 2) + "\n"
        elif fmt == "csv":
            from bot.reports.render_csv import render_csv

            data = render_csv(report)
        elif fmt == "png":
            from bot.reports.render_png import render_png

            data = render_png(report, language)
        else:
            from bot.reports.render_md import render_markdown

            data = render_markdown(report, language)
        if output is None:
            assert isinstance(data, str)
            sys.stdout.write(data)
            return
        if isinstance(data, bytes):
            output.write_bytes(data)
        else:
            output.write_text(data, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


def _format(value: str | None, output: Path | None, as_json: bool) -> Format:
    if as_json:
        if value not in (None, "json"):
            raise Refused("--json and --format disagree", 2)
        return "json"
    chosen = value or (output.suffix.lstrip(".").lower() if output and output.suffix else "md")
    chosen = {"markdown": "md", "jsonl": "json"}.get(chosen, chosen)
    if chosen not in ("md", "json", "csv", "png"):
        raise Refused(f"unknown format {chosen!r}: use md, json, csv or png", 2)
    if chosen == "png" and output is None:
        raise Refused("the png format needs --output FILE", 2)
    return chosen  # type: ignore[return-value]


def _lang(value: str | None, workspace: Workspace) -> Lang:
    chosen = value or workspace.language
    if chosen not in ("fr", "en"):
        raise Refused(f"unknown language {chosen!r}: use fr or en", 2)
    return "fr" if chosen == "fr" else "en"


# --- audit ----------------------------------------------------------------------------------------


def audit_command(
    case: Annotated[
        int | None, typer.Option("--case", help="A case's trail, with its drafts and events.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="What one staff member (or `vigie`) did.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From (7d, 2026-11-01…).")] = None,
    until: Until = None,
    action: Annotated[str | None, typer.Option(help="An action (case.assigned) or a family (case).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many, the newest.")] = 200,
    as_json: Json = False,
) -> None:
    """Who did what, when, from which door (oldest first)."""
    with _one_line():
        with _context() as (_settings, store, workspace):
            from bot.reports.report import report_timezone
            from bot.store.reports import ReportRepo

            now = utcnow()
            start = end = None
            if since or until:
                span = parse_period(
                    since or "100w", until, now=now, timezone=report_timezone(workspace, None)
                )
                start, end = span.start, span.end
            with store.unit() as unit:
                rows = ReportRepo(unit).audit(
                    case_id=case, actor=user, since=start, until=end, action=action, limit=limit
                )
                entries = [
                    {
                        "id": r.id,
                        "at": r.at.isoformat(),
                        "actor": r.actor,
                        "door": r.door,
                        "action": r.action,
                        "subject": r.subject,
                        "detail": r.detail,
                    }
                    for r in rows
                ]
        if as_json:
            _emit(entries)
            return
        for entry in entries:
            typer.echo(audit_line(entry))
        if not entries:
            typer.echo("no audit entries match", err=True)


# --- export ---------------------------------------------------------------------------------------


def export_command(
    since: Since,
    until: Until = None,
    format_: Annotated[
        str, typer.Option("--format", help="jsonl (one file) or csv (one file per kind).")
    ] = "jsonl",
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="events, cases, drafts, actions, audit (default: all).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="jsonl: a file (default stdout); csv: a directory (required).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    as_json: Json = False,
) -> None:
    """Export a range of events, cases, drafts, actions (effects) and audit entries, streamed."""
    from bot.store.reports import EXPORT_KINDS, ExportKind

    with _one_line():
        wanted = [k.strip() for item in (kind or list(EXPORT_KINDS)) for k in item.split(",") if k.strip()]
        unknown = [k for k in wanted if k not in EXPORT_TYPES]
        if unknown:
            raise Refused(f"unknown kind {unknown[0]!r}: use {', '.join(EXPORT_KINDS)}", 2)
        kinds: list[ExportKind] = [k for k in EXPORT_KINDS if k in wanted]
        if format_ not in ("jsonl", "csv"):
            raise Refused(f"unknown format {format_!r}: use jsonl or csv", 2)
        if format_ == "csv" and output is None:
            raise Refused("csv export writes one file per kind: give --output DIRECTORY", 2)
        with _context() as (_settings, store, workspace):
            from bot.reports.report import report_timezone

            span = parse_period(since, until, now=utcnow(), timezone=report_timezone(workspace, None))
            counts = _export(
                store, kinds, span.start, span.end, format_, output, progress and output is not None
            )
        summary = {
            "since": span.start.isoformat(),
            "until": span.end.isoformat(),
            "counts": counts,
            "output": str(output) if output else "-",
        }
        if as_json and output is not None:
            _emit(summary)
        else:
            shown = ", ".join(f"{n} {k}" for k, n in counts.items())
            typer.echo(f"exported {shown}" + (f" to {output}" if output else ""), err=True)


def _export(
    store: Store, kinds: list[Any], start: Any, end: Any, fmt: str, output: Path | None, show: bool
) -> dict[str, int]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bot.store.reports import ReportRepo

    counts: dict[str, int] = {}
    with store.unit() as unit, ExitStack() as stack:
        repo = ReportRepo(unit)
        totals = {k: repo.count(k, start, end) for k in kinds} if show else {}
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not show,
            transient=False,
        )
        stack.enter_context(bar)
        single: TextIO = sys.stdout
        if fmt == "jsonl" and output is not None:
            single = stack.enter_context(output.open("w", encoding="utf-8"))
        if fmt == "csv" and output is not None:
            output.mkdir(parents=True, exist_ok=True)
        for k in kinds:
            task = bar.add_task(k, total=totals.get(k))

            def rows(kind: Any = k, task_id: Any = task) -> Iterator[dict[str, Any]]:
                for row in repo.stream(kind, start, end):
                    yield row
                    bar.advance(task_id)

            if fmt == "jsonl":
                counts[k] = write_jsonl(single, k, rows())
            else:
                assert output is not None
                with (output / f"{k}.csv").open("w", encoding="utf-8", newline="") as handle:
                    counts[k] = write_csv(handle, rows())
    return counts


# --- forget ---------------------------------------------------------------------------------------


def forget_command(
    author: Annotated[str, typer.Option("--author", help="SOURCE:ID, e.g. google-reviews:u-19.")],
    actor: Annotated[
        str, typer.Option("--as", envvar="VIGIE_AS", help="Who asks (for the audit log).")
    ] = "cli",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: Json = False,
) -> None:
    """Erase one person's events, cases and drafts everywhere in the store, and say what was removed."""
    with _one_line():
        match = AUTHOR.match(author.strip())
        if not match:
            raise Refused(f"--author must look like SOURCE:ID (e.g. google-reviews:u-19), got {author!r}", 2)
        source, author_id = match.group("source"), match.group("id")
        with _context() as (settings, store, workspace):
            # Erasure is an admin action (README "Who can do what"), checked like every other door.
            found = workspace.staff_by_identity("cli", actor)
            if found is None:
                raise Refused(f"--as {actor[:64]!r} is not staff in vigie.yaml: nothing erased", 1)
            if "admin" not in found[1].roles:
                raise Refused(f"only an admin may erase a person's data, not {found[0]}: nothing erased", 1)
            if not yes and not typer.confirm(
                f"Erase every trace of {source}:{author_id}? This cannot be undone."
            ):
                raise Refused("nothing erased", 1)
            from bot.store.privacy import forget

            counts = forget(
                store, source, author_id, salt=privacy_salt(settings.data_dir), actor=actor[:64], door="cli"
            )
        if as_json:
            _emit(counts)
            return
        if not counts["events"] and not counts["cases_anonymised"]:
            typer.echo(f"nothing stored for {source}:{author_id}")
            return
        typer.echo(
            f"erased {source}:{author_id}: "
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
        )


def privacy_salt(data_dir: Path) -> str:
    """`VIGIE_PRIVACY_SALT`, else a random salt kept in the data dir (created on first use)."""
    value = os.environ.get("VIGIE_PRIVACY_SALT")
    if value:
        return value
    path = data_dir / SALT_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    path.write_text(salt + "\n", encoding="utf-8")
    path.chmod(0o600)
    return salt


# --- retention ------------------------------------------------------------------------------------


@retention_app.command("show")
def retention_show(as_json: Json = False) -> None:
    """The retention period of each kind and how many rows are past it now."""
    with _one_line(), _context() as (_settings, store, workspace):
        from bot.store.privacy import retention_preview

        policy = retention_of(workspace)
        expired = retention_preview(store, policy.cutoffs(utcnow()))
        keep = {k: (str(v) if v is not None else None) for k, v in policy.model_dump().items()}
        if as_json:
            _emit(
                {
                    "keep": {k: (v.total_seconds() if v else None) for k, v in policy.model_dump().items()},
                    "expired": expired,
                }
            )
            return
        for name, period in keep.items():
            typer.echo(f"{name}: keep {period or 'forever'}; past it now: {expired.get(name, 0)}")


@retention_app.command("run")
def retention_run(as_json: Json = False) -> None:
    """Delete what is past its retention period now (what the scheduled job does)."""
    with _one_line(), _context() as (_settings, store, workspace):
        from bot.reports.service import run_retention

        counts = run_retention(store, workspace)
        if as_json:
            _emit(counts)
            return
        typer.echo(
            "deleted " + (", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing (all kept forever)")
        )


def register(app: typer.Typer) -> None:
    """Mount `report`, `audit`, `export`, `forget` and `retention` on the `vigie` command."""
    app.command("report")(report_command)
    app.command("audit")(audit_command)
    app.command("export")(export_command)
    app.command("forget")(forget_command)
    app.add_typer(retention_app, name="retention")
