"""The demo's after-sales story, through the same staff commands Slack, Discord and the CLI use:
a broken-parcel complaint was routed to after-sales as a case; Samir takes it and drafts a reply that
quotes the customer's phone number back in public (the ethics pack blocks it); he drafts a corrected
reply, cannot
approve his own draft, and Tom approves it; a worker delivers it to the customer (the console outbox,
since the review site has no reply URL in the demo) and the case moves to pending."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console

from bot.dispatch import Dispatcher
from bot.events import event_id_for
from bot.ports import CommandResult, StaffCommand
from bot.runtime import Runtime

COMPLAINT = ("google-reviews", "demo-017")  # "Colis arrivé cassé, et personne ne répond au téléphone."
BLOCKED_TEXT = "Bonjour M. L., toutes nos excuses ! Nous vous rappelons au 06 12 34 56 78 dès cet après-midi."
CORRECTED_TEXT = (
    "Bonjour, nous sommes désolés que votre colis soit arrivé abîmé. Pouvez-vous nous écrire en message "
    "privé avec votre numéro de commande ? Nous organisons le remplacement dès réception."
)


def run_story(runtime: Runtime, console: Console | None) -> list[str]:
    dispatch = Dispatcher(runtime)
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        if console is not None:
            console.print(f"[bold cyan]▸[/bold cyan] {text}")

    def run(actor: str, verb: str, **args: Any) -> CommandResult:
        result = dispatch(StaffCommand(door="console", actor=actor, verb=verb, args=args))
        say(f"{actor}: {verb} → {'ok' if result.ok else 'refused'}: {result.message.splitlines()[0]}")
        return result

    if console is not None:
        console.rule("[bold]After-sales story")
    event_id = event_id_for(*COMPLAINT)
    with runtime.store.unit() as unit:
        row = unit.events.get(event_id)
        case_id = row.case_id if row else None
    if case_id is None:
        say("the broken-parcel complaint was not routed to a case (check rules/routing.yaml)")
        return lines
    say(f"the broken-parcel review was routed to after-sales as case #{case_id}")
    run("samir", "take", case_id=case_id)
    blocked = run("samir", "draft", case_id=case_id, text=BLOCKED_TEXT)
    blocked_draft = blocked.data.get("draft")
    if not isinstance(blocked_draft, dict) or blocked_draft.get("status") != "blocked":
        say("the ethics pack did not block a reply quoting a phone number: check rules/ethics.yaml")
    draft = run("samir", "draft", case_id=case_id, text=CORRECTED_TEXT)
    proposed = draft.data.get("draft")
    draft_id = proposed.get("id") if isinstance(proposed, dict) else None
    run("samir", "approve", draft_id=draft_id)  # refused: never the author
    run("tom", "approve", draft_id=draft_id)
    run("tom", "approve", draft_id=draft_id)  # a double click sends once
    status = wait_for_draft(runtime, dispatch, int(str(draft_id)))
    say(f"draft #{draft_id} is {status}; the customer's reply is in the console #outbox")
    case = dispatch(StaffCommand(door="console", actor="camille", verb="case", args={"case_id": case_id}))
    shown = case.data.get("case")
    status_now = shown.get("status") if isinstance(shown, dict) else "unknown"
    say(f"case #{case_id} is now {status_now} (waiting on the customer)")
    return lines


def wait_for_draft(runtime: Runtime, dispatch: Dispatcher, draft_id: int, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        result = dispatch(
            StaffCommand(door="console", actor="camille", verb="drafts", args={"status": "all"})
        )
        for item in result.data.get("drafts", []):  # type: ignore[union-attr]
            if isinstance(item, dict) and item.get("id") == draft_id:
                status = str(item.get("status"))
        if status in ("sent", "failed"):
            return status
        time.sleep(0.2)
    return status
