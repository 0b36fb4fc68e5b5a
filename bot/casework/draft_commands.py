"""Staff verbs on reply drafts: propose (free text or a saved reply), approve, edit, edit and
approve, reject, list, and the saved-reply catalogue. Thread text is internal: nothing reaches a
customer except through `approve`, which emits one `deliver_reply` effect keyed by the draft, and
only the winner of the conditional pending → approved update emits it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.casework import args as A
from bot.casework import sla
from bot.casework.approval import approval_refusal, assess
from bot.casework.case_commands import load_case
from bot.casework.context import (
    Actor,
    Config,
    Outbox,
    Refused,
    draft_card_effects,
    draft_post_effects,
    event_of,
)
from bot.casework.messages import say, word
from bot.casework.permissions import require, require_team
from bot.casework.replies import MissingFields
from bot.casework.states import DRAFT_OPEN
from bot.events import Effect, Event
from bot.ports import CommandResult
from bot.store.cases import DraftRepo, PostedLookup
from bot.store.models import CaseRow, DraftRow
from bot.store.unit import Unit

DECIDED = ("approved", "sent", "failed", "rejected", "expired")


def draft_data(draft: DraftRow) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return sla.iso(value) if value else None

    return {
        "id": draft.id,
        "case_id": draft.case_id,
        "status": draft.status,
        "author": draft.author,
        "text": draft.text,
        "template": draft.template,
        "approver_roles": list(draft.approver_roles or []),
        "blocked_by": (draft.ethics or {}).get("blocked_by"),
        "reason": draft.reason,
        "created_at": at(draft.created_at),
        "expires_at": at(draft.expires_at),
        "decided_by": draft.decided_by,
        "decided_at": at(draft.decided_at),
        "edited_by": draft.edited_by,
        "delivered_at": at(draft.delivered_at),
        "delivery_error": draft.delivery_error,
    }


def expire_key(draft_id: int) -> str:
    return f"draft-{draft_id}-expire"


def _case_for(unit: Unit, args: dict[str, Any]) -> CaseRow:
    if args.get("case_id"):
        return load_case(unit, A.ident(args, "case_id"), lock=True)
    where = args.get("location") if isinstance(args.get("location"), dict) else args
    assert isinstance(where, dict)
    platform = where.get("platform")
    channel = where.get("channel")
    message = where.get("thread_id") or where.get("thread_ts") or where.get("message_id")
    if not (platform and channel and message):
        raise Refused("missing_arg", name="case_id")
    case_id = PostedLookup(unit).case_at(str(platform), str(channel), str(message))
    if case_id is None:
        raise Refused("no_case_here")
    return load_case(unit, case_id, lock=True)


def _load(unit: Unit, args: dict[str, Any]) -> tuple[DraftRow, CaseRow]:
    draft_id = A.ident(args, "draft_id")
    draft = DraftRepo(unit).get(draft_id)
    if draft is None:
        raise Refused("unknown_draft", id=draft_id)
    return draft, load_case(unit, draft.case_id, lock=True)


def _audit(unit: Unit, actor: Actor, action: str, draft: DraftRow, now: datetime, **detail: Any) -> None:
    unit.audit(
        actor=actor.staff_id,
        door=actor.door,
        action=action,
        subject=f"draft:{draft.id}",
        detail={"case": draft.case_id, **detail},
        at=now,
    )


def _template_text(
    config: Config, actor: Actor, case: CaseRow, event: Event, name: str, lang: str, extra: dict[str, str]
) -> str:
    reply = config.replies.get(name)
    if reply is None:
        raise Refused("unknown_template", name=name)
    fallback_author = "à vous" if lang == "fr" else "there"
    order = event.metadata.get("order")
    values = {
        "author": event.author.name or fallback_author,
        "case": f"#{case.id}",
        "order": str(order) if order is not None else "",
        "agent": actor.person.name,
        "brand": config.workspace.brand.name,
        **extra,
    }
    try:
        return reply.render(lang, values)
    except MissingFields as missing:
        raise Refused("template_needs", name=name, fields=", ".join(missing.fields)) from None


def propose(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "work", config.lang)
    case = _case_for(unit, args)
    require_team(actor, case)
    event = event_of(unit, case.last_event_id)
    if event is None:
        raise Refused("no_reply_target", id=case.id)
    lang = A.text(args, "lang", required=False) or event.lang or config.lang
    template = A.text(args, "template", required=False)
    body = A.text(args, "text", required=False)
    if template and body is None:
        body = _template_text(config, actor, case, event, template, lang, A.fields(args))
    elif template and config.replies.get(template) is None:
        raise Refused("unknown_template", name=template)
    if not body:
        raise Refused("missing_arg", name="text")
    outcome = assess(config.check_reply(body, event, lang), config.workspace)
    blocked = outcome.blocked_by is not None
    draft = DraftRepo(unit).add(
        DraftRow(
            case_id=case.id,
            reply_to_event_id=event.id,
            author=actor.staff_id,
            text=body,
            status="blocked" if blocked else "pending",
            ethics=outcome.as_record(),
            approver_roles=list(outcome.approver_roles),
            template=template,
            created_at=now,
            expires_at=now + config.workspace.approval.expire_after,
            reason=outcome.reason if blocked else None,
            revision=1,
            lang=lang,
        )
    )
    out.timers.append(
        sla.TimerOp(expire_key(draft.id), draft.expires_at, "draft_expire", {"draft_id": draft.id})
    )
    _audit(
        unit,
        actor,
        "draft.proposed",
        draft,
        now,
        status=draft.status,
        template=template,
        rules=list(outcome.rules),
        blocked_by=outcome.blocked_by,
    )
    out.effects += draft_post_effects(unit, draft, case, config)
    data = {"draft": draft_data(draft)}
    if blocked:
        message = say(
            "draft_blocked", config.lang, id=draft.id, rule=outcome.blocked_by, reason=outcome.reason
        )
        return CommandResult(ok=False, message=message, data=data)
    roles = "/".join(outcome.approver_roles)
    return CommandResult(
        ok=True, message=say("draft_pending", config.lang, id=draft.id, case=case.id, roles=roles), data=data
    )


def _may_approve(config: Config, actor: Actor, draft: DraftRow) -> None:
    refusal = approval_refusal(actor.staff_id, actor.person, draft.author, list(draft.approver_roles or []))
    if refusal == "self_approval":
        raise Refused("self_approval", who=actor.staff_id, id=draft.id)
    if refusal == "missing_role":
        what = "approuver ce brouillon" if config.lang == "fr" else "approve this draft"
        raise Refused(
            "missing_role", who=actor.staff_id, what=what, roles="/".join(draft.approver_roles or [])
        )


def _not_pending(config: Config, draft: DraftRow, verb: str) -> CommandResult:
    """Why a decision cannot be taken: a second click on a decided draft says who decided, sends nothing."""
    lang = config.lang
    if draft.status in DECIDED:
        message = say(
            "already_decided",
            lang,
            id=draft.id,
            status=word(draft.status, lang),
            by=draft.decided_by or "vigie",
        )
    else:
        message = say("draft_wrong_state", lang, id=draft.id, status=word(draft.status, lang), move=verb)
    return CommandResult(ok=False, message=message, data={"draft": draft_data(draft), "error": "wrong_state"})


def approve(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    draft, case = _load(unit, args)
    _may_approve(config, actor, draft)
    return _approve(unit, config, out, actor, draft, case, now)


def _approve(
    unit: Unit, config: Config, out: Outbox, actor: Actor, draft: DraftRow, case: CaseRow, now: datetime
) -> CommandResult:
    drafts = DraftRepo(unit)
    if draft.status != "pending":
        return _not_pending(config, draft, "approve")
    if draft.expires_at <= now:
        # The expiry timer may run late; a late click must not send a stale reply.
        if drafts.move(draft.id, ("pending",), status="expired", decided_by="vigie", decided_at=now):
            _audit(unit, actor, "draft.expired", draft, now)
            out.effects += draft_card_effects(unit, draft, case, config)
        return _not_pending(config, draft, "approve")
    if not drafts.move(draft.id, ("pending",), status="approved", decided_by=actor.staff_id, decided_at=now):
        return _not_pending(config, draft, "approve")
    out.timers.append(sla.TimerOp(expire_key(draft.id)))
    _audit(unit, actor, "draft.approved", draft, now, status="approved")
    out.effects += [
        Effect(
            kind="deliver_reply",
            subject=f"draft:{draft.id}",
            params={
                "draft_id": draft.id,
                "case_id": case.id,
                "event_id": draft.reply_to_event_id,
                "source": case.source,
                "text": draft.text,
            },
        ),
        *draft_card_effects(unit, draft, case, config),
    ]
    return CommandResult(
        ok=True,
        message=say("draft_approved", config.lang, id=draft.id, by=actor.staff_id),
        data={"draft": draft_data(draft)},
    )


def _edit(
    unit: Unit,
    config: Config,
    out: Outbox,
    actor: Actor,
    draft: DraftRow,
    case: CaseRow,
    body: str,
    now: datetime,
) -> CommandResult | None:
    """Replace the text and run the ethics pack again; returns a refusal result, or None when the
    edited draft is pending."""
    if draft.status not in DRAFT_OPEN:
        return _not_pending(config, draft, "edit")
    event = event_of(unit, draft.reply_to_event_id)
    outcome = assess(config.check_reply(body, event, draft.lang), config.workspace)
    blocked = outcome.blocked_by is not None
    moved = DraftRepo(unit).move(
        draft.id,
        tuple(DRAFT_OPEN),
        text=body,
        status="blocked" if blocked else "pending",
        ethics=outcome.as_record(),
        approver_roles=list(outcome.approver_roles),
        reason=outcome.reason if blocked else None,
        edited_by=actor.staff_id,
    )
    if not moved:
        return _not_pending(config, draft, "edit")
    _audit(
        unit,
        actor,
        "draft.edited",
        draft,
        now,
        status=draft.status,
        rules=list(outcome.rules),
        blocked_by=outcome.blocked_by,
    )
    out.effects += draft_card_effects(unit, draft, case, config)
    if blocked:
        message = say(
            "draft_blocked", config.lang, id=draft.id, rule=outcome.blocked_by, reason=outcome.reason
        )
        return CommandResult(ok=False, message=message, data={"draft": draft_data(draft), "error": "blocked"})
    return None


def edit(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    draft, case = _load(unit, args)
    body = A.text(args, "text")
    assert body is not None
    approver = bool(set(actor.person.roles) & set(draft.approver_roles or []))
    if actor.staff_id != draft.author and not approver:
        raise Refused("not_author", id=draft.id)
    if actor.staff_id == draft.author:
        require(actor, "work", config.lang)
        require_team(actor, case)
    refused = _edit(unit, config, out, actor, draft, case, body, now)
    if refused is not None:
        return refused
    return CommandResult(
        ok=True,
        message=say("draft_edited", config.lang, id=draft.id, by=actor.staff_id),
        data={"draft": draft_data(draft)},
    )


def edit_approve(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    draft, case = _load(unit, args)
    body = A.text(args, "text")
    assert body is not None
    _may_approve(config, actor, draft)
    refused = _edit(unit, config, out, actor, draft, case, body, now)
    if refused is not None:
        return refused
    _may_approve(config, actor, draft)  # the ethics pack may have asked for another role
    return _approve(unit, config, out, actor, draft, case, now)


def reject(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    draft, case = _load(unit, args)
    reason = A.text(args, "reason")
    withdrawn = actor.staff_id == draft.author
    if not withdrawn:
        _may_approve(config, actor, draft)
    if draft.status not in DRAFT_OPEN:
        return _not_pending(config, draft, "reject")
    if not DraftRepo(unit).move(
        draft.id,
        tuple(DRAFT_OPEN),
        status="rejected",
        decided_by=actor.staff_id,
        decided_at=now,
        reason=reason,
    ):
        return _not_pending(config, draft, "reject")
    out.timers.append(sla.TimerOp(expire_key(draft.id)))
    _audit(unit, actor, "draft.rejected", draft, now, withdrawn=withdrawn)
    out.effects += draft_card_effects(unit, draft, case, config)
    return CommandResult(
        ok=True,
        message=say("draft_rejected", config.lang, id=draft.id, by=actor.staff_id, reason=reason),
        data={"draft": draft_data(draft)},
    )


def list_drafts(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    require(actor, "view", config.lang)
    statuses = A.names(args, "status") or ["pending", "blocked"]
    case_id = A.ident(args, "case_id") if args.get("case_id") else None
    drafts = DraftRepo(unit).list(
        statuses=[] if statuses == ["all"] else statuses, case_id=case_id, limit=A.limit(args)
    )
    return CommandResult(
        ok=True,
        message=say("draft_list", config.lang, n=len(drafts)),
        data={"drafts": [draft_data(d) for d in drafts]},
    )


def saved_replies(
    unit: Unit, config: Config, out: Outbox, actor: Actor, args: dict[str, Any], now: datetime
) -> CommandResult:
    """The saved replies, those sharing labels with the case first (`suggested`)."""
    require(actor, "view", config.lang)
    suggested: list[str] = []
    if args.get("case_id"):
        case = load_case(unit, A.ident(args, "case_id"))
        suggested = [r.name for r in config.replies.suggest(list(case.labels or []))]
    names = suggested + sorted(n for n in config.replies.by_name if n not in suggested)
    items = [
        {
            "name": n,
            "labels": list(config.replies.by_name[n].labels),
            "suggested": n in suggested,
            "languages": [lang for lang in ("en", "fr") if getattr(config.replies.by_name[n], lang)],
        }
        for n in names
    ]
    return CommandResult(ok=True, message=say("replies", config.lang, n=len(items)), data={"replies": items})
