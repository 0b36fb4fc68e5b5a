"""The state machines of cases and drafts, as tables, so every allowed move is listed in one place
and everything else is refused with the state it was refused from.

Cases follow Chatwoot's conversation states: `open` (the team owes an answer), `pending` (waiting on
the customer), `snoozed` (parked until a time), `resolved`. Drafts go `pending → approved → sent`,
with `blocked` (an ethics rule stopped it), `rejected`, `expired` and `failed` (delivery gave up)."""

from __future__ import annotations

from typing import Literal, get_args

CaseStatus = Literal["open", "pending", "snoozed", "resolved"]
CaseMove = Literal["reply_sent", "customer_wrote", "snooze", "wake", "resolve", "reopen"]

CASE_STATUSES: tuple[CaseStatus, ...] = get_args(CaseStatus)

CASE_MOVES: dict[tuple[str, str], CaseStatus] = {
    ("open", "reply_sent"): "pending",
    ("open", "snooze"): "snoozed",
    ("open", "resolve"): "resolved",
    ("pending", "reply_sent"): "pending",
    ("pending", "customer_wrote"): "open",
    ("pending", "snooze"): "snoozed",
    ("pending", "resolve"): "resolved",
    ("pending", "reopen"): "open",
    ("snoozed", "customer_wrote"): "open",
    ("snoozed", "wake"): "open",
    ("snoozed", "reopen"): "open",
    ("snoozed", "resolve"): "resolved",
    ("snoozed", "snooze"): "snoozed",
    ("resolved", "customer_wrote"): "open",
    ("resolved", "reopen"): "open",
    ("open", "customer_wrote"): "open",
}
"""(from, move) → to. A reply sent on a snoozed or resolved case leaves it where it is (see
`case_after`); replying does not wake a parked case, the customer writing back does."""

DraftStatus = Literal["pending", "blocked", "approved", "rejected", "expired", "sent", "failed"]
DraftMove = Literal["edit", "block", "approve", "reject", "expire", "deliver", "fail"]

DRAFT_MOVES: dict[tuple[str, str], DraftStatus] = {
    ("pending", "edit"): "pending",
    ("pending", "block"): "blocked",
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("pending", "expire"): "expired",
    ("blocked", "edit"): "pending",
    ("blocked", "block"): "blocked",
    ("blocked", "reject"): "rejected",
    ("blocked", "expire"): "expired",
    ("approved", "deliver"): "sent",
    ("approved", "fail"): "failed",
}

DRAFT_OPEN: frozenset[str] = frozenset({"pending", "blocked"})
"""Drafts still waiting on someone: their expiry timer is live."""


class TransitionRefused(Exception):
    """A move not allowed from the current state; `status` and `move` say which."""

    def __init__(self, subject: str, status: str, move: str) -> None:
        super().__init__(f"{subject} is {status}: cannot {move}")
        self.subject = subject
        self.status = status
        self.move = move


def case_next(status: str, move: CaseMove) -> CaseStatus:
    """The status a case moves to, or `TransitionRefused`."""
    target = CASE_MOVES.get((status, move))
    if target is None:
        raise TransitionRefused("case", status, move)
    return target


def case_after_reply(status: str) -> str:
    """A delivered reply moves an open case to pending; parked and closed cases stay put."""
    return CASE_MOVES.get((status, "reply_sent"), status)


def draft_next(status: str, move: DraftMove) -> DraftStatus:
    target = DRAFT_MOVES.get((status, move))
    if target is None:
        raise TransitionRefused("draft", status, move)
    return target
