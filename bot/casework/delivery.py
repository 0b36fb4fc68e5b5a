"""What happens after the applier tried to send an approved reply. Delivered: the draft is `sent`,
the case records its first (or next) response time, SLA response clocks stop, and an open case
moves to pending (waiting on the customer). Failed for good: the draft ends `failed` with the error,
visible on its card. Both are idempotent: a second call for the same draft changes nothing."""

from __future__ import annotations

from datetime import datetime

from bot.casework import sla
from bot.casework.context import (
    SYSTEM,
    Config,
    Outbox,
    case_card_effects,
    draft_card_effects,
    touch,
)
from bot.casework.routing import reoffer
from bot.casework.states import case_after_reply
from bot.store.cases import CaseRepo, DraftRepo
from bot.store.unit import Unit

ERROR_LIMIT = 500  # characters of a platform error kept on the draft; enough to act on, not a dump


def reply_delivered(
    unit: Unit, config: Config, out: Outbox, draft_id: int, at: datetime, platform_id: str
) -> bool:
    drafts = DraftRepo(unit)
    if not drafts.move(
        draft_id,
        ("approved", "failed"),
        status="sent",
        delivered_at=at,
        platform_id=platform_id[:256],
        delivery_error=None,
    ):
        return False
    draft = drafts.get(draft_id)
    assert draft is not None
    case = CaseRepo(unit).get(draft.case_id, lock=True)
    assert case is not None
    before = case.status
    first = case.first_response_at is None
    if first:
        case.first_response_at = at
    case.last_response_at = at
    doc = sla.copy_doc(case.sla)
    out.timers += sla.record_response(case.id, doc, at)
    case.sla = doc
    case.status = case_after_reply(case.status)
    touch(case, at)
    detail: dict[str, object] = {"draft": draft_id, "from": before, "to": case.status, "first": first}
    if first:
        detail["first_response_seconds"] = int((at - case.opened_at).total_seconds())
    unit.audit(
        actor=SYSTEM, door="worker", action="case.replied", subject=f"case:{case.id}", detail=detail, at=at
    )
    unit.audit(
        actor=SYSTEM,
        door="worker",
        action="draft.sent",
        subject=f"draft:{draft_id}",
        detail={"case": case.id},
        at=at,
    )
    out.effects += case_card_effects(unit, case, config) + draft_card_effects(unit, draft, case, config)
    if before == "open" and case.status != "open":
        reoffer(unit, config, out, case.team, at)  # the assignee has one open case fewer
    return True


def reply_failed(unit: Unit, config: Config, out: Outbox, draft_id: int, error: str, at: datetime) -> bool:
    drafts = DraftRepo(unit)
    if not drafts.move(draft_id, ("approved",), status="failed", delivery_error=error[:ERROR_LIMIT]):
        return False
    draft = drafts.get(draft_id)
    assert draft is not None
    case = CaseRepo(unit).get(draft.case_id)
    assert case is not None
    unit.audit(
        actor=SYSTEM,
        door="worker",
        action="draft.failed",
        subject=f"draft:{draft_id}",
        detail={"case": case.id},
        at=at,
    )
    out.effects += draft_card_effects(unit, draft, case, config)
    return True
