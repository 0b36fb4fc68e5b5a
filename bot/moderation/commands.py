"""The moderation verbs. Each runs in one transaction (`ctx.unit`) and returns a `CommandResult`;
sanctions describe what the platform must do as `moderate` effects in `data["effects"]`, for the
caller to record and apply once, after the transaction commits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from bot.durations import format_duration
from bot.events import Effect, JsonValue
from bot.moderation import context as read
from bot.moderation.config import MAX_TIMEOUT
from bot.moderation.context import DECIDE_ROLES, READ_ROLES, SANCTION_ROLES, Context, Refused
from bot.moderation.ledger import (
    NewCase,
    bind_effect,
    command_target,
    escalate,
    escalation_effects,
    open_case,
    sanction_effect,
)
from bot.moderation.policy import escalation, points_for, seconds_of
from bot.moderation.texts import label, say
from bot.moderation.views import appeal_card, case_line, case_text, case_view, effective_status, member_ref
from bot.ports import CommandResult
from bot.rulebook.stats import record_override
from bot.store.modcases import ModCaseRepo
from bot.store.models import ModCaseRow

Handler = Callable[[Context, Mapping[str, Any]], CommandResult]

REVOCABLE = ("active", "appealed", "upheld", "expired")
# Sanctions whose effect outlives the case on the platform: revoking the case does not lift them.
LASTING = ("timeout", "ban")


def _effects(effects: list[Effect]) -> list[JsonValue]:
    return [effect.model_dump(mode="json") for effect in effects]


def _case(ctx: Context, scope: str, wanted: int, *, lock: bool = False) -> ModCaseRow:
    row = ModCaseRepo(ctx.unit).get(scope, wanted, lock=lock)
    if row is None:
        raise Refused("unknown_case", number=wanted)
    return row


def _touch(ctx: Context, row: ModCaseRow, status: str, by: str, note: str | None) -> None:
    row.status = status
    row.updated_at = ctx.now
    row.updated_by = by
    if note:
        row.note = note


def _sanction(ctx: Context, args: Mapping[str, Any], action: str) -> CommandResult:
    """`warn` and `timeout`: open the case, then the effect that carries it out, then any escalation."""
    staff_id, person = ctx.require(SANCTION_ROLES, "what_sanction")
    scope, source, guild = ctx.where(args)
    target_id = read.member(args)
    if target_id in (ctx.command.actor, staff_id, person.discord, person.slack):
        raise Refused("self_sanction")
    reason = read.text(args, "reason", required=False) or say("no_reason", ctx.lang)
    seconds: int | None = None
    if action == "timeout":
        seconds = seconds_of(args.get("seconds")) or seconds_of(args.get("duration"))
        if seconds is None:
            raise Refused("missing_arg", name="duration")
        if seconds > MAX_TIMEOUT.total_seconds():
            raise Refused("bad_arg", name="duration", problem="at most 28d")
        weight = points_for("timeout", None, ctx.config)
    else:
        weight = read.points(args, points_for("warn", None, ctx.config))
    row, _ = open_case(
        ctx.unit,
        NewCase(
            scope=scope,
            source=source,
            action=action,
            member_id=target_id,
            moderator=staff_id,
            reason=reason,
            points=weight,
            duration_s=seconds,
        ),
        ctx.now,
        ctx.config,
        door=ctx.door,
    )
    bind_effect(ctx.unit, row)
    target = command_target(
        source=source,
        scope=scope,
        number=row.number,
        member=target_id,
        guild=guild,
        channel=read.text(args, "channel", required=False),
        name=read.text(args, "member_name", required=False),
    )
    audit_reason = say("reason_manual", ctx.lang, moderator=person.name, reason=reason)
    effects = [
        sanction_effect(
            row, target, reason=audit_reason, lang=ctx.lang, message=reason if action == "warn" else None
        )
    ]
    raised = escalate(ctx.unit, row, target, ctx.now, ctx.config, ctx.lang)
    effects += escalation_effects(raised, target, ctx.lang)
    who = member_ref(ctx.door, target_id)
    if action == "warn":
        lines = [
            say("warned", ctx.lang, number=row.number, member=who, points=row.points, total=row.total_points)
        ]
    else:
        duration = format_duration(timedelta(seconds=seconds or 0))
        lines = [say("timed_out", ctx.lang, number=row.number, member=who, duration=duration)]
    crossed = escalation(row.total_points - row.points, row.total_points, ctx.config)
    for extra in raised:
        action_label = label("action", extra.action, ctx.lang)
        threshold = crossed.points if crossed else row.total_points
        lines.append(
            say("escalated", ctx.lang, threshold=threshold, action=action_label, number=extra.number)
        )
    return CommandResult(
        ok=True,
        message="\n".join(lines),
        data={
            "case": row.number,
            "scope": scope,
            "subject": f"modcase:{row.id}",
            "points": row.points,
            "total_points": row.total_points,
            "escalations": [extra.number for extra in raised],
            "effects": _effects(effects),
        },
    )


def warn(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    return _sanction(ctx, args, "warn")


def timeout(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    return _sanction(ctx, args, "timeout")


def show_case(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    ctx.require(READ_ROLES, "what_read")
    scope, _, _ = ctx.where(args)
    row = _case(ctx, scope, read.number(args) or 0)
    appeals = ModCaseRepo(ctx.unit).appeals_of(scope, row.number)
    view = case_view(row, ctx.now)
    view["appeals"] = [appeal.number for appeal in appeals]
    return CommandResult(ok=True, message=case_text(row, ctx.now, ctx.lang, ctx.door), data={"case": view})


def history(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    ctx.require(READ_ROLES, "what_read")
    scope, _, _ = ctx.where(args)
    target_id = read.member(args)
    repo = ModCaseRepo(ctx.unit)
    rows = repo.history(scope, target_id)
    active = repo.active_points(scope, target_id, ctx.now)
    who = member_ref(ctx.door, target_id)
    if not rows:
        message = say("history_empty", ctx.lang, member=who)
    else:
        head = say("history_head", ctx.lang, member=who, n=len(rows), points=active)
        message = "\n".join([head, *(case_line(row, ctx.now, ctx.lang, ctx.door) for row in rows)])
    return CommandResult(
        ok=True,
        message=message,
        data={
            "member": target_id,
            "scope": scope,
            "active_points": active,
            "cases": [case_view(row, ctx.now) for row in rows],
        },
    )


def appeal(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    """Any member contests one of their own sanctions (the latest one when no number is given); the
    appeal is a case of its own, and a card for the moderation channel."""
    scope, _, _ = ctx.where(args)
    appellant = ctx.command.actor
    words = read.text(args, "text") or ""
    wanted = read.number(args, "case_number", required=False)
    repo = ModCaseRepo(ctx.unit)
    if wanted is None:
        found = repo.latest_appealable(scope, appellant)
        if found is None:
            raise Refused("nothing_to_appeal")
        sanction = _case(ctx, scope, found.number, lock=True)
    else:
        sanction = _case(ctx, scope, wanted, lock=True)
    if sanction.member_id != appellant:
        raise Refused("not_your_case", number=sanction.number)
    status = effective_status(sanction, ctx.now)
    if sanction.action in ("appeal", "note") or status not in ("active", "expired"):
        raise Refused(
            "not_appealable",
            number=sanction.number,
            action=label("action", sanction.action, ctx.lang),
            status=label("status", status, ctx.lang),
        )
    filed, _ = open_case(
        ctx.unit,
        NewCase(
            scope=scope,
            source=sanction.source,
            action="appeal",
            member_id=appellant,
            moderator="member",
            reason=words,
            event_id=sanction.event_id,
            appeal_of=sanction.number,
        ),
        ctx.now,
        ctx.config,
        door=ctx.door,
    )
    _touch(ctx, sanction, "appealed", "member", None)
    card = appeal_card(filed, sanction, ctx.workspace.language, ctx.door)
    return CommandResult(
        ok=True,
        message=say("appealed", ctx.lang, number=sanction.number, appeal=filed.number),
        data={
            "case": filed.number,
            "appeal_of": sanction.number,
            "scope": scope,
            "subject": f"modcase:{filed.id}",
            "card": card.model_dump(mode="json"),
            "post_to": "moderation",
        },
    )


def revoke(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    """Withdraw a case: its points stop counting, and a pending appeal of it is granted."""
    staff_id, _ = ctx.require(SANCTION_ROLES, "what_sanction")
    scope, _, _ = ctx.where(args)
    row = _case(ctx, scope, read.number(args) or 0, lock=True)
    status = effective_status(row, ctx.now)
    if status not in REVOCABLE:
        raise Refused(
            "wrong_status",
            number=row.number,
            status=label("status", status, ctx.lang),
            move=say("move_revoke", ctx.lang),
        )
    note = read.text(args, "reason", required=False)
    _touch(ctx, row, "revoked", staff_id, note)
    if row.rule:
        record_override(row.rule)  # a human undid what a rule did: `vigie rules stats` shows it
    for pending in ModCaseRepo(ctx.unit).appeals_of(scope, row.number):
        if pending.status == "active":
            _touch(ctx, pending, "overturned", staff_id, None)
    ctx.unit.audit(
        actor=staff_id,
        door=ctx.door,
        action="modcase.revoke",
        subject=f"modcase:{row.id}",
        detail={"scope": scope, "number": row.number, "was": status},
        at=ctx.now,
    )
    key = "revoked_lift" if row.action in LASTING else "revoked"
    message = say(key, ctx.lang, number=row.number, action=label("action", row.action, ctx.lang))
    return CommandResult(
        ok=True, message=message, data={"case": row.number, "scope": scope, "status": "revoked"}
    )


def decide_appeal(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    """`mod_appeal number decision=uphold|overturn`: the number may be the appeal's or the sanction's.
    An overturned warning stops counting; the platform sanction itself is lifted by hand."""
    staff_id, _ = ctx.require(DECIDE_ROLES, "what_decide")
    scope, _, _ = ctx.where(args)
    decision = (read.text(args, "decision") or "").lower()
    if decision not in ("uphold", "overturn"):
        raise Refused("bad_arg", name="decision", problem="uphold or overturn")
    row = _case(ctx, scope, read.number(args) or 0, lock=True)
    sanction = (
        _case(ctx, scope, row.appeal_of, lock=True) if row.action == "appeal" and row.appeal_of else row
    )
    pending = [a for a in ModCaseRepo(ctx.unit).appeals_of(scope, sanction.number) if a.status == "active"]
    if sanction.status != "appealed" or not pending:
        raise Refused("not_an_appeal", number=row.number)
    status = "upheld" if decision == "uphold" else "overturned"
    note = read.text(args, "note", required=False)
    _touch(ctx, sanction, status, staff_id, note)
    if status == "overturned" and sanction.rule:
        record_override(sanction.rule)
    for filed in pending:
        _touch(ctx, filed, status, staff_id, note)
    ctx.unit.audit(
        actor=staff_id,
        door=ctx.door,
        action=f"modcase.appeal_{decision}",
        subject=f"modcase:{sanction.id}",
        detail={"scope": scope, "number": sanction.number, "appeals": [a.number for a in pending]},
        at=ctx.now,
    )
    message = say(
        "appeal_decided", ctx.lang, number=sanction.number, decision=label("status", status, ctx.lang)
    )
    return CommandResult(
        ok=True,
        message=message,
        data={"case": sanction.number, "scope": scope, "status": status, "member": sanction.member_id},
    )


def add_note(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    staff_id, _ = ctx.require(SANCTION_ROLES, "what_sanction")
    scope, source, _ = ctx.where(args)
    target_id = read.member(args)
    row, _ = open_case(
        ctx.unit,
        NewCase(
            scope=scope,
            source=source,
            action="note",
            member_id=target_id,
            moderator=staff_id,
            reason=read.text(args, "text") or "",
        ),
        ctx.now,
        ctx.config,
        door=ctx.door,
    )
    message = say("noted", ctx.lang, number=row.number, member=member_ref(ctx.door, target_id))
    return CommandResult(ok=True, message=message, data={"case": row.number, "scope": scope})


def edit_reason(ctx: Context, args: Mapping[str, Any]) -> CommandResult:
    """Correct a case's reason (Red's `reason` command); the first reason stays in `note`."""
    staff_id, _ = ctx.require(SANCTION_ROLES, "what_sanction")
    scope, _, _ = ctx.where(args)
    row = _case(ctx, scope, read.number(args) or 0, lock=True)
    reason = read.text(args, "reason") or ""
    if row.note is None:
        row.note = row.reason
    row.reason = reason
    row.updated_at = ctx.now
    row.updated_by = staff_id
    ctx.unit.audit(
        actor=staff_id,
        door=ctx.door,
        action="modcase.edit",
        subject=f"modcase:{row.id}",
        detail={"scope": scope, "number": row.number},
        at=ctx.now,
    )
    return CommandResult(
        ok=True, message=say("edited", ctx.lang, number=row.number), data={"case": row.number, "scope": scope}
    )


VERBS: dict[str, Handler] = {
    "warn": warn,
    "timeout": timeout,
    "mod_case": show_case,
    "history": history,
    "appeal": appeal,
    "mod_revoke": revoke,
    "mod_appeal": decide_appeal,
    "mod_note": add_note,
    "mod_edit": edit_reason,
}
