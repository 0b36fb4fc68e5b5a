"""Cards for cases and drafts, pure functions of the rows: the worker posts them, the desk re-renders
them (`update_card` rev<n>) after every change. A decided draft's card says who decided and has no
buttons, so a stale Approve button cannot be clicked again from the card."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.casework import sla as sla_doc
from bot.casework.messages import say, word
from bot.events import Event
from bot.ports import Button, Card
from bot.store.models import CaseRow, DraftRow
from bot.workspace import Workspace

Severity = Literal["info", "good", "warning", "danger"]
_SEVERITY: dict[str, Severity] = {"urgent": "danger", "high": "warning", "normal": "info", "low": "info"}


def _when(at: datetime | None, workspace: Workspace, team: str | None) -> str:
    if at is None:
        return "-"
    zone = workspace.teams[team].timezone if team and team in workspace.teams else "UTC"
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _person(workspace: Workspace, staff_id: str | None, lang: str) -> str:
    if not staff_id:
        return say("nobody", lang)
    if staff_id == "vigie":
        return word("vigie", lang)
    person = workspace.staff.get(staff_id)
    return person.name if person else staff_id


def sla_line(case: CaseRow, workspace: Workspace, lang: str) -> str:
    doc = case.sla or {}
    parts = [word(sla_doc.status(doc), lang)]
    for name, target in doc.get("targets", {}).items():
        if target["status"] == "active":
            due = sla_doc.parse_iso(target["due"])
            parts.append(f"{word(name, lang)} ≤ {_when(due, workspace, case.team)}")
        elif target["status"] in ("hit", "missed"):
            parts.append(f"{word(name, lang)}: {word(target['status'], lang)}")
    return " · ".join(parts)


def render_case_card(
    case: CaseRow, event: Event | None, verdict_labels: Sequence[str], workspace: Workspace, lang: str
) -> Card:
    labels = tuple(dict.fromkeys([*verdict_labels, *(case.labels or [])]))
    fields = [
        (say("f_status", lang), word(case.status, lang)),
        (say("f_assignee", lang), _person(workspace, case.assignee, lang)),
        (say("f_priority", lang), word(case.priority, lang)),
        (say("f_sla", lang), sla_line(case, workspace, lang)),
        (say("f_source", lang), case.source),
    ]
    value = str(case.id)
    buttons: list[Button] = []
    if case.status != "resolved":
        if case.assignee is None:
            buttons.append(Button(action="take", value=value, label=say("b_take", lang), style="primary"))
        buttons += [
            Button(action="assign", value=value, label=say("b_assign", lang)),
            Button(action="reply", value=value, label=say("b_reply", lang)),
            Button(action="resolve", value=value, label=say("b_resolve", lang)),
            Button(action="escalate", value=value, label=say("b_escalate", lang), style="danger"),
        ]
    team = workspace.teams.get(case.team)
    return Card(
        title=say(
            "case_title",
            lang,
            id=case.id,
            team=(team.name if team and team.name else case.team),
            priority=word(case.priority, lang),
        ),
        text=event.text if event is not None else "",
        fields=tuple(fields),
        labels=labels,
        url=event.url if event is not None else None,
        buttons=tuple(buttons),
        severity="good" if case.status == "resolved" else _SEVERITY.get(case.priority, "info"),
        footer=f"case:{case.id} · rev {case.revision}",
    )


def render_draft_card(draft: DraftRow, workspace: Workspace, lang: str, *, team: str | None = None) -> Card:
    value = str(draft.id)
    roles = ", ".join(draft.approver_roles or [])
    fields = [
        (say("f_author", lang), _person(workspace, draft.author, lang)),
        (say("f_status", lang), word(draft.status, lang)),
        (say("f_approvers", lang), roles or "-"),
    ]
    if draft.template:
        fields.append((say("f_template", lang), draft.template))
    ethics = draft.ethics or {}
    if ethics.get("rules"):
        fields.append((say("f_ethics", lang), ", ".join(str(r) for r in ethics["rules"])))
    buttons: tuple[Button, ...] = ()
    severity: Severity = "info"
    if draft.status == "pending":
        buttons = (
            Button(action="approve", value=value, label=say("b_approve", lang), style="primary"),
            Button(action="edit", value=value, label=say("b_edit", lang)),
            Button(action="reject", value=value, label=say("b_reject", lang), style="danger"),
        )
        footer = say("pending_footer", lang, roles=roles, at=_when(draft.expires_at, workspace, team))
        severity = "warning"
    elif draft.status == "blocked":
        buttons = (Button(action="edit", value=value, label=say("b_edit", lang)),)
        footer = say("blocked_footer", lang, reason=draft.reason or "")
        severity = "danger"
    else:
        by = _person(workspace, draft.decided_by or "vigie", lang)
        at = draft.delivered_at if draft.status == "sent" else draft.decided_at
        footer = say("decided", lang, status=word(draft.status, lang), by=by, at=_when(at, workspace, team))
        if draft.status in ("rejected", "failed") and (draft.reason or draft.delivery_error):
            footer += f" — {draft.delivery_error or draft.reason}"
        outcome: dict[str, Severity] = {"sent": "good", "approved": "good", "failed": "danger"}
        severity = outcome.get(draft.status, "info")
    return Card(
        title=say("draft_title", lang, id=draft.id, case=draft.case_id),
        text=draft.text,
        fields=tuple(fields),
        buttons=buttons,
        severity=severity,
        footer=footer,
    )
