"""`vigie case …` and `vigie draft …`: the CLI door to the case desk, over the same `dispatch` as the
Slack and Discord buttons. `--as USER` names the staff member acting (a staff id from vigie.yaml,
or `VIGIE_AS`); the desk checks the role for every command.

By default the desk is built from the settings (`bot.runtime.build_runtime(load_settings())`, then
`bot.casework.wiring.desk_for`); tests and embedders call `set_desk_factory(lambda: CaseDesk(...))`.
Failures print one line on stderr and exit non-zero (1: refused, 2: cannot run), never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer

from bot.casework.desk import CaseDesk
from bot.events import JsonValue
from bot.ports import CommandResult, StaffCommand

DeskFactory = Callable[[], CaseDesk]
_factory: DeskFactory | None = None
_desk: CaseDesk | None = None


def set_desk_factory(factory: DeskFactory | None) -> None:
    """Tell the CLI how to build the desk (called by `bot.cli`, and by tests)."""
    global _factory, _desk
    _factory = factory
    _desk = None


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _runtime_desk() -> CaseDesk:
    """The default: the desk of a runtime built from the settings (store, queue, rulebook)."""
    from bot.casework.wiring import desk_for
    from bot.runtime import build_runtime
    from bot.settings import load_settings

    return desk_for(build_runtime(load_settings()))


def _get_desk() -> CaseDesk:
    global _desk
    if _desk is None:
        try:
            _desk = (_factory or _runtime_desk)()
        except Exception as error:  # configuration problems must read as one line, not a traceback
            _fail(f"vigie: cannot start the case desk: {error}", 2)
    return _desk


def run(actor: str, verb: str, args: dict[str, JsonValue], *, as_json: bool = False) -> CommandResult:
    """Dispatch one command and print its outcome; exits 1 when refused."""
    clean = {k: v for k, v in args.items() if v is not None and v != [] and v is not False}
    try:
        result = _get_desk().dispatch(StaffCommand(door="cli", actor=actor, verb=verb, args=clean))
    except typer.Exit:
        raise
    except Exception as error:  # a store or queue outage: say it in one line
        _fail(f"vigie: {verb} failed: {type(error).__name__}: {error}", 2)
    if as_json:
        typer.echo(
            json.dumps(
                {"ok": result.ok, "message": result.message, **result.data},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
    elif result.ok:
        _print(result)
    if not result.ok:
        if not as_json:
            typer.echo(result.message, err=True)
        raise typer.Exit(1)
    return result


def _print(result: CommandResult) -> None:
    data: dict[str, Any] = dict(result.data)
    if "cases" in data:
        for case in data["cases"]:
            typer.echo(
                f"#{case['id']:<5} {case['status']:<9} {case['priority']:<7} {case['team']:<14} "
                f"{case['assignee'] or '-':<10} sla:{case['sla_status']:<10} {','.join(case['labels'])}"
            )
        typer.echo(result.message)
    elif "drafts" in data:
        for draft in data["drafts"]:
            typer.echo(
                f"#{draft['id']:<5} case #{draft['case_id']:<5} {draft['status']:<9} "
                f"by {draft['author']:<10} {_one_line(draft['text'])}"
            )
        typer.echo(result.message)
    elif "replies" in data:
        for reply in data["replies"]:
            mark = "*" if reply["suggested"] else " "
            typer.echo(
                f"{mark} {reply['name']:<20} {'/'.join(reply['languages']):<6} {','.join(reply['labels'])}"
            )
        typer.echo(result.message)
    elif "case" in data and "text" in data["case"]:
        case = data["case"]
        typer.echo(result.message)
        for key in (
            "team",
            "labels",
            "source",
            "opened_at",
            "first_response_at",
            "snoozed_until",
            "sla_status",
        ):
            typer.echo(f"  {key}: {case.get(key)}")
        for name, target in case.get("sla", {}).items():
            typer.echo(f"  sla.{name}: {target['status']} (due {target['due']})")
        typer.echo(f"  > {_one_line(case['text'], 300)}")
    else:
        typer.echo(result.message)


def _one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


As = Annotated[str, typer.Option("--as", envvar="VIGIE_AS", help="Staff id acting (vigie.yaml staff).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]

case_app = typer.Typer(
    help="After-sales cases: list, show, assign, take, resolve, reopen, snooze.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
draft_app = typer.Typer(
    help="Reply drafts: propose, approve, edit, reject, list.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@case_app.command("list")
def case_list(
    actor: As,
    status: Annotated[str | None, typer.Option(help="open,pending,snoozed,resolved or all")] = None,
    team: Annotated[str | None, typer.Option()] = None,
    assignee: Annotated[str | None, typer.Option(help="staff id, or me")] = None,
    unassigned: Annotated[bool, typer.Option("--unassigned")] = False,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Json = False,
) -> None:
    """List cases (unresolved by default)."""
    run(
        actor,
        "case",
        {"status": status, "team": team, "assignee": assignee, "unassigned": unassigned, "limit": limit},
        as_json=as_json,
    )


@case_app.command("show")
def case_show(case_id: int, actor: As, as_json: Json = False) -> None:
    """Show one case, its SLA targets and the customer's last message."""
    run(actor, "case", {"case_id": case_id}, as_json=as_json)


@case_app.command("open")
def case_open(
    event_id: str,
    actor: As,
    team: Annotated[str, typer.Option()],
    priority: Annotated[str, typer.Option()] = "normal",
    as_json: Json = False,
) -> None:
    """Open a case by hand from a stored event."""
    run(actor, "open", {"event_id": event_id, "team": team, "priority": priority}, as_json=as_json)


@case_app.command("assign")
def case_assign(
    case_id: int,
    to: str,
    actor: As,
    force: Annotated[bool, typer.Option("--force", help="Assign even above the cap.")] = False,
    as_json: Json = False,
) -> None:
    """Assign or reassign a case (lead, admin)."""
    run(actor, "assign", {"case_id": case_id, "to": to, "force": force}, as_json=as_json)


@case_app.command("take")
def case_take(case_id: int, actor: As, as_json: Json = False) -> None:
    """Assign a case to yourself."""
    run(actor, "take", {"case_id": case_id}, as_json=as_json)


@case_app.command("resolve")
def case_resolve(case_id: int, actor: As, as_json: Json = False) -> None:
    run(actor, "resolve", {"case_id": case_id}, as_json=as_json)


@case_app.command("reopen")
def case_reopen(case_id: int, actor: As, as_json: Json = False) -> None:
    run(actor, "reopen", {"case_id": case_id}, as_json=as_json)


@case_app.command("snooze")
def case_snooze(
    case_id: int,
    actor: As,
    until: Annotated[str | None, typer.Option(help="ISO time, e.g. 2026-11-21T09:00+01:00")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="A duration: 4h, 2d")] = None,
    as_json: Json = False,
) -> None:
    """Park a case until a time; it reopens then, or when the customer writes."""
    run(actor, "snooze", {"case_id": case_id, "until": until, "for": for_}, as_json=as_json)


@case_app.command("priority")
def case_priority(case_id: int, priority: str, actor: As, as_json: Json = False) -> None:
    """Change the priority (re-arms the SLA clocks)."""
    run(actor, "priority", {"case_id": case_id, "priority": priority}, as_json=as_json)


@case_app.command("escalate")
def case_escalate(case_id: int, actor: As, as_json: Json = False) -> None:
    """Raise the priority one level and page the team lead."""
    run(actor, "escalate", {"case_id": case_id}, as_json=as_json)


@draft_app.command("propose")
def draft_propose(
    case_id: int,
    actor: As,
    text: Annotated[str | None, typer.Option(help="The reply text.")] = None,
    template: Annotated[str | None, typer.Option(help="A saved reply's name.")] = None,
    field: Annotated[
        list[str] | None, typer.Option(help="name=value for a saved reply's placeholders.")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="fr or en; default: the customer's language.")] = None,
    as_json: Json = False,
) -> None:
    """Propose a reply on a case; it waits for a second person's approval."""
    run(
        actor,
        "draft",
        {"case_id": case_id, "text": text, "template": template, "fields": list(field or []), "lang": lang},
        as_json=as_json,
    )


@draft_app.command("approve")
def draft_approve(draft_id: int, actor: As, as_json: Json = False) -> None:
    """Approve a draft: it is sent to the customer."""
    run(actor, "approve", {"draft_id": draft_id}, as_json=as_json)


@draft_app.command("edit")
def draft_edit(
    draft_id: int,
    actor: As,
    text: Annotated[str, typer.Option(help="The new text.")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve the edited text in one go.")] = False,
    as_json: Json = False,
) -> None:
    """Replace a draft's text (the ethics check runs again)."""
    run(actor, "edit_approve" if approve else "edit", {"draft_id": draft_id, "text": text}, as_json=as_json)


@draft_app.command("reject")
def draft_reject(
    draft_id: int, actor: As, reason: Annotated[str, typer.Option(help="Why.")], as_json: Json = False
) -> None:
    run(actor, "reject", {"draft_id": draft_id, "reason": reason}, as_json=as_json)


@draft_app.command("list")
def draft_list(
    actor: As,
    status: Annotated[str | None, typer.Option(help="pending,blocked (default), … or all")] = None,
    case: Annotated[int | None, typer.Option("--case")] = None,
    as_json: Json = False,
) -> None:
    """The approval queue."""
    run(actor, "drafts", {"status": status, "case_id": case}, as_json=as_json)


@draft_app.command("replies")
def draft_replies(
    actor: As, case: Annotated[int | None, typer.Option("--case")] = None, as_json: Json = False
) -> None:
    """Saved replies; with --case, those matching its labels first (marked *)."""
    run(actor, "replies", {"case_id": case}, as_json=as_json)
