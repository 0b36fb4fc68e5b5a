"""Timer tasks, run by the scheduler at their time: SLA warnings, breaches and escalations, draft
expiry, the end of a snooze, and re-offering unassigned cases when a team opens. Every task first
checks that the thing it was scheduled for is still true (same arming, same due time, same state):
a timer that outlived a change of the case is stale and does nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.casework import sla
from bot.casework.context import (
    SYSTEM,
    Config,
    Outbox,
    case_card_effects,
    draft_card_effects,
    page_effects,
    touch,
)
from bot.casework.messages import say, word
from bot.casework.routing import auto_assign, reoffer
from bot.casework.states import DRAFT_OPEN, case_next
from bot.store.cases import CaseRepo, DraftRepo
from bot.store.models import CaseRow
from bot.store.unit import Unit

TASKS = ("sla_warn", "sla_breach", "sla_escalate", "draft_expire", "snooze_wake", "team_open")


def run(unit: Unit, config: Config, out: Outbox, task: str, args: dict[str, Any], now: datetime) -> bool:
    """Run one timer task; False when it was stale (or unknown) and did nothing."""
    if task in ("sla_warn", "sla_breach", "sla_escalate"):
        return _sla(unit, config, out, task, args, now)
    if task == "draft_expire":
        return _draft_expire(unit, config, out, args, now)
    if task == "snooze_wake":
        return _wake(unit, config, out, args, now)
    if task == "team_open":
        return bool(reoffer(unit, config, out, str(args.get("team", "")), now))
    return False


def _case(unit: Unit, args: dict[str, Any]) -> CaseRow | None:
    try:
        return CaseRepo(unit).get(int(args["case_id"]), lock=True)
    except (KeyError, TypeError, ValueError):
        return None


def recipients(config: Config, case: CaseRow, step: str) -> list[str]:
    ws = config.workspace
    team = ws.teams.get(case.team)
    if step == "assignee":
        if case.assignee:
            return [case.assignee]
        step = "lead"
    if step == "lead":
        people = (
            [team.lead]
            if team and team.lead
            else [sid for sid, p in ws.staff.items() if case.team in p.teams and "lead" in p.roles]
        )
        if case.assignee and case.assignee not in people:
            people.append(case.assignee)
        return people
    return sorted(sid for sid, p in ws.staff.items() if step in p.roles)


def _sla(unit: Unit, config: Config, out: Outbox, task: str, args: dict[str, Any], now: datetime) -> bool:
    case = _case(unit, args)
    if case is None or case.status == "resolved":
        return False
    doc = sla.copy_doc(case.sla)
    if not sla.is_live(doc, args):
        return False
    name = str(args["target"])
    target = doc["targets"][name]
    lang = config.lang
    due = sla.parse_iso(target["due"])
    assert due is not None
    values = {
        "id": case.id,
        "target": word(name, lang),
        "team": case.team,
        "due": due.strftime("%Y-%m-%d %H:%M UTC"),
    }
    seq = int(target["seq"])
    if task == "sla_warn":
        if target["status"] != "active" or target.get("warned"):
            return False
        target["warned"] = True
        out.effects += page_effects(
            config,
            case,
            f"sla-{name}-warn-{seq}",
            recipients(config, case, "assignee"),
            say("sla_warn", lang, **values),
            0,
        )
        action = "sla.warned"
    elif task == "sla_breach":
        if target["status"] != "active":
            return False
        target["status"] = "missed"
        out.effects += page_effects(
            config,
            case,
            f"sla-{name}-breach-{seq}",
            recipients(config, case, "lead"),
            say("sla_breach", lang, **values),
            1,
        )
        _next_escalation(out, case, name, args, 2, due)
        action = "sla.missed"
    else:
        level = int(args.get("level", 2))
        if target["status"] != "missed" or level > len(sla.ESCALATION_STEPS):
            return False
        step = sla.ESCALATION_STEPS[level - 1][1]
        out.effects += page_effects(
            config,
            case,
            f"sla-{name}-esc{level}-{seq}",
            recipients(config, case, step),
            say("sla_escalate", lang, level=level, **values),
            level,
        )
        _next_escalation(out, case, name, args, level + 1, due)
        action = "sla.escalated"
    case.sla = doc
    touch(case, now)
    unit.audit(
        actor=SYSTEM,
        door="worker",
        action=action,
        subject=f"case:{case.id}",
        detail={"target": name, "seq": seq, "level": int(args.get("level", 1))},
        at=now,
    )
    out.effects += case_card_effects(unit, case, config)
    return True


def _next_escalation(
    out: Outbox, case: CaseRow, name: str, args: dict[str, Any], level: int, due: datetime
) -> None:
    if level > len(sla.ESCALATION_STEPS):
        return
    after: timedelta = sla.ESCALATION_STEPS[level - 1][0]
    seq = int(args["seq"])
    out.timers.append(
        sla.TimerOp(
            sla.timer_key(case.id, name, f"esc{level}", seq),
            due + after,
            "sla_escalate",
            {"case_id": case.id, "target": name, "seq": seq, "due": args["due"], "level": level},
        )
    )


def _draft_expire(unit: Unit, config: Config, out: Outbox, args: dict[str, Any], now: datetime) -> bool:
    drafts = DraftRepo(unit)
    try:
        draft = drafts.get(int(args["draft_id"]))
    except (KeyError, TypeError, ValueError):
        return False
    if draft is None or draft.status not in DRAFT_OPEN or draft.expires_at > now:
        return False
    if not drafts.move(draft.id, tuple(DRAFT_OPEN), status="expired", decided_at=now, decided_by=SYSTEM):
        return False
    case = CaseRepo(unit).get(draft.case_id)
    assert case is not None
    unit.audit(
        actor=SYSTEM,
        door="worker",
        action="draft.expired",
        subject=f"draft:{draft.id}",
        detail={"case": case.id},
        at=now,
    )
    out.effects += draft_card_effects(unit, draft, case, config)
    return True


def _wake(unit: Unit, config: Config, out: Outbox, args: dict[str, Any], now: datetime) -> bool:
    case = _case(unit, args)
    if case is None or case.status != "snoozed" or case.snoozed_until is None:
        return False
    if sla.iso(case.snoozed_until) != args.get("until"):
        return False
    case.status = case_next(case.status, "wake")
    case.snoozed_until = None
    touch(case, now)
    unit.audit(
        actor=SYSTEM,
        door="worker",
        action="case.woke",
        subject=f"case:{case.id}",
        detail={"from": "snoozed", "to": case.status},
        at=now,
    )
    if case.assignee is None:
        auto_assign(unit, config, out, case, now)
    out.effects += case_card_effects(unit, case, config)
    return True
