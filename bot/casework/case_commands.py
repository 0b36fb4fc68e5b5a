"""Staff verbs on cases: show and list, open by hand, assign, take, resolve, reopen, snooze,
priority, label, escalate. Each checks the actor's role, moves the case through the state table,
re-arms the SLA timers, bumps the revision and writes the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.casework import args as A
from bot.casework import sla
from bot.casework.context import (
    Actor,
    Config,
    Outbox,
    Refused,
    case_card_effects,
    event_of,
    page_effects,
    touch,
)
from bot.casework.messages import say, word
from bot.casework.permissions import require, require_team
from bot.casework.routing import auto_assign, open_case, reoffer, reprice
from bot.casework.states import CASE_STATUSES, CaseMove, TransitionRefused, case_next
from bot.casework.survey_flow import survey_effects
from bot.casework.timers import recipients
from bot.ports import CommandResult
from bot.store.cases import UNRESOLVED, CaseRepo, EventLookup
from bot.store.models import CaseRow
from bot.store.unit import Unit
from bot.workspace import PRIORITIES


def case_data(case: CaseRow, *, detail: bool = False) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return sla.iso(value) if value else None

    data: dict[str, Any] = {
        "id": case.id,
        "team": case.team,
        "status": case.status,
        "priority": case.priority,
        "assignee": case.assignee,
        "labels": list(case.labels or []),
        "source": case.source,
        "sla_status": sla.status(case.sla or {}),
        "opened_at": at(case.opened_at),
        "updated_at": at(case.updated_at),
        "revision": case.revision,
    }
    if detail:
        data.update(
            first_event_id=case.first_event_id,
            last_event_id=case.last_event_id,
            first_response_at=at(case.first_response_at),
            last_response_at=at(case.last_response_at),
            last_customer_at=at(case.last_customer_at),
            resolved_at=at(case.resolved_at),
            snoozed_until=at(case.snoozed_until),
            sla=(case.sla or {}).get("targets", {}),
            opened_by=case.opened_by,
        )
    return data


def load_case(unit: Unit, case_id: int, *, lock: bool = False) -> CaseRow:
    case = CaseRepo(unit).get(case_id, lock=lock)
    if case is None:
        raise Refused("unknown_case", id=case_id)
    return case


def move(case: CaseRow, verb: CaseMove, lang: str) -> str:
    before = case.status
    try:
        case.status = case_next(case.status, verb)
    except TransitionRefused:
        raise Refused("wrong_state", id=case.id, status=word(case.status, lang), move=verb) from None
    return before


def audit(unit: Unit, actor: Actor, action: str, case: CaseRow, now: datetime, **detail: Any) -> None:
    unit.audit(
        actor=actor.staff_id, door=actor.door, action=action, subject=f"case:{case.id}", detail=detail, at=now
    )


def _done(unit: Unit, config: Config, out: Outbox, case: CaseRow, message: str) -> CommandResult:
    out.effects += case_card_effects(unit, case, config)
    return CommandResult(ok=True, message=message, data={"case": case_data(case)})


def show_or_list(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "view", config.lang)
    if args.get("case_id"):
        case = load_case(unit, A.ident(args, "case_id"))
        data = case_data(case, detail=True)
        event = event_of(unit, case.last_event_id)
        if event is not None:
            data["text"] = event.text
            data["author"] = event.author.name or event.author.id
        message = say(
            "case_show",
            config.lang,
            id=case.id,
            status=word(case.status, config.lang),
            priority=word(case.priority, config.lang),
            assignee=case.assignee or say("nobody", config.lang),
        )
        return CommandResult(ok=True, message=message, data={"case": data})
    statuses = A.names(args, "status") or list(UNRESOLVED)
    if statuses == ["all"]:
        statuses = list(CASE_STATUSES)
    for status in statuses:
        if status not in CASE_STATUSES:
            raise Refused(
                "bad_arg", name="status", problem=f"{status!r} (use {', '.join(CASE_STATUSES)}, all)"
            )
    assignee = A.text(args, "assignee", required=False)
    if assignee == "me":
        assignee = actor.staff_id
    cases = CaseRepo(unit).list(
        statuses=statuses,
        team=A.text(args, "team", required=False),
        assignee=assignee,
        unassigned=A.flag(args, "unassigned"),
        limit=A.limit(args),
    )
    return CommandResult(
        ok=True,
        message=say("case_list", config.lang, n=len(cases)),
        data={"cases": [case_data(c) for c in cases]},
    )


def open_by_hand(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "work", config.lang)
    event_id = A.text(args, "event_id")
    assert event_id is not None
    row = EventLookup(unit).get(event_id)
    event = event_of(unit, event_id)
    if row is None or event is None:
        raise Refused("unknown_event", id=event_id)
    if row.case_id is not None:
        raise Refused("bad_arg", name="event_id", problem=f"already in case #{row.case_id}")
    team = A.text(args, "team")
    assert team is not None
    if team not in config.workspace.teams:
        raise Refused("unknown_team", id=team)
    if team not in actor.person.teams and not {"lead", "admin"} & set(actor.person.roles):
        raise Refused("not_in_team", who=actor.staff_id, team=team)
    priority = A.text(args, "priority", required=False) or "normal"
    if priority not in PRIORITIES:
        raise Refused("bad_arg", name="priority", problem=f"{priority!r} (use {', '.join(PRIORITIES)})")
    case = open_case(
        unit,
        config,
        out,
        event,
        team=team,
        priority=priority,
        labels=A.names(args, "labels"),
        sla_override=None,
        now=now,
        actor=actor.staff_id,
        door=actor.door,
    )
    return _done(unit, config, out, case, say("case_opened", config.lang, id=case.id, team=team))


def assign(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    to = A.text(args, "to")
    assert to is not None
    if to == "me":
        to = actor.staff_id
    if to != actor.staff_id:
        require(actor, "assign", config.lang)
    return _assign_to(unit, config, out, actor, case, to, now, force=A.flag(args, "force"), how="manual")


def take(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    return _assign_to(unit, config, out, actor, case, actor.staff_id, now, force=True, how="take")


def _assign_to(
    unit: Unit,
    config: Config,
    out: Outbox,
    actor: Actor,
    case: CaseRow,
    to: str,
    now: datetime,
    *,
    force: bool,
    how: str,
) -> CommandResult:
    require(actor, "work", config.lang)
    require_team(actor, case)
    lang = config.lang
    person = config.workspace.staff.get(to)
    if person is None:
        raise Refused("unknown_staff", id=to)
    if case.team not in person.teams:
        raise Refused("not_in_team", who=to, team=case.team)
    if case.status == "resolved":
        raise Refused("wrong_state", id=case.id, status=word(case.status, lang), move=how)
    if case.assignee == to:
        return CommandResult(
            ok=True, message=say("already_assigned", lang, id=case.id, to=to), data={"case": case_data(case)}
        )
    team = config.workspace.teams.get(case.team)
    if not force and team is not None:
        count = CaseRepo(unit).open_counts([to])[to]
        if count >= team.max_open_per_agent:
            raise Refused("over_cap", to=to, n=count, cap=team.max_open_per_agent)
    before = case.assignee
    case.assignee = to
    case.assigned_at = now
    touch(case, now)
    audit(unit, actor, "case.assigned", case, now, to=to, previous=before, how=how)
    if before and case.status == "open":
        reoffer(unit, config, out, case.team, now)
    return _done(unit, config, out, case, say("assigned", lang, id=case.id, to=to))


def resolve(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "work", config.lang)
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    require_team(actor, case)
    before = move(case, "resolve", config.lang)
    case.resolved_at = now
    case.snoozed_until = None
    doc = sla.copy_doc(case.sla)
    out.timers += sla.resolved(case.id, doc, now)
    case.sla = doc
    touch(case, now)
    audit(unit, actor, "case.resolved", case, now, **{"from": before, "to": case.status})
    if before == "open" and case.assignee:
        reoffer(unit, config, out, case.team, now)
    out.effects += survey_effects(unit, config, case)
    return _done(unit, config, out, case, say("resolved", config.lang, id=case.id))


def reopen(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "work", config.lang)
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    require_team(actor, case)
    before = move(case, "reopen", config.lang)
    case.resolved_at = None
    case.snoozed_until = None
    doc = sla.copy_doc(case.sla)
    if before == "resolved" and doc.get("durations") and case.team in config.workspace.teams:
        out.timers += sla.reopened(case.id, doc, now, sla.calendar_for(config.workspace, case.team, doc))
    case.sla = doc
    touch(case, now)
    audit(unit, actor, "case.reopened", case, now, **{"from": before, "to": case.status})
    if case.assignee is None:
        auto_assign(unit, config, out, case, now)
    return _done(unit, config, out, case, say("reopened", config.lang, id=case.id))


def snooze(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "work", config.lang)
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    require_team(actor, case)
    wake_at = A.until(args, now)
    before = move(case, "snooze", config.lang)
    if case.snoozed_until is not None:
        out.timers.append(sla.TimerOp(_wake_key(case)))
    case.snoozed_until = wake_at
    touch(case, now)
    out.timers.append(
        sla.TimerOp(_wake_key(case), wake_at, "snooze_wake", {"case_id": case.id, "until": sla.iso(wake_at)})
    )
    audit(
        unit, actor, "case.snoozed", case, now, until=sla.iso(wake_at), **{"from": before, "to": case.status}
    )
    if before == "open" and case.assignee:
        reoffer(unit, config, out, case.team, now)
    zone = config.workspace.teams[case.team].timezone if case.team in config.workspace.teams else "UTC"
    shown = wake_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    return _done(unit, config, out, case, say("snoozed", config.lang, id=case.id, until=shown))


def _wake_key(case: CaseRow) -> str:
    stamp = int(case.snoozed_until.timestamp()) if case.snoozed_until else 0
    return f"case-{case.id}-wake-{stamp}"


def priority(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "work", config.lang)
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    require_team(actor, case)
    wanted = A.text(args, "priority")
    if wanted not in PRIORITIES:
        raise Refused("bad_arg", name="priority", problem=f"{wanted!r} (use {', '.join(PRIORITIES)})")
    if wanted != case.priority:
        reprice(unit, config, out, case, wanted, now, actor=actor.staff_id, door=actor.door)
    return CommandResult(
        ok=True,
        message=say("priority_set", config.lang, id=case.id, priority=word(case.priority, config.lang)),
        data={"case": case_data(case)},
    )


def label(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "work", config.lang)
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    require_team(actor, case)
    add, remove = A.names(args, "add"), A.names(args, "remove")
    labels = [x for x in dict.fromkeys([*(case.labels or []), *add]) if x not in remove]
    if labels != list(case.labels or []):
        case.labels = labels
        touch(case, now)
        audit(unit, actor, "case.labelled", case, now, added=add, removed=remove)
        out.effects += case_card_effects(unit, case, config)
    return CommandResult(
        ok=True,
        message=say("labels_set", config.lang, id=case.id, labels=", ".join(labels) or "-"),
        data={"case": case_data(case)},
    )


def escalate(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    """Raise the priority one level (re-arming the SLA) and page the team lead."""
    require(actor, "work", config.lang)
    case = load_case(unit, A.ident(args, "case_id"), lock=True)
    require_team(actor, case)
    if case.status == "resolved":
        raise Refused("wrong_state", id=case.id, status=word(case.status, config.lang), move="escalate")
    level = PRIORITIES.index(case.priority)
    if level + 1 < len(PRIORITIES):
        reprice(unit, config, out, case, PRIORITIES[level + 1], now, actor=actor.staff_id, door=actor.door)
    else:
        touch(case, now)
        out.effects += case_card_effects(unit, case, config)
    people = [p for p in recipients(config, case, "lead") if p != actor.staff_id] or recipients(
        config, case, "admin"
    )
    audit(unit, actor, "case.escalated", case, now, to=people, priority=case.priority)
    message = say("escalated", config.lang, id=case.id, to=", ".join(people) or "-")
    out.effects += page_effects(config, case, f"escalate-rev{case.revision}", people, message, 1)
    return CommandResult(ok=True, message=message, data={"case": case_data(case)})
