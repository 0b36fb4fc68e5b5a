"""Every case and draft transition: the allowed ones land where the table says, all others refuse."""

from __future__ import annotations

import itertools
from typing import get_args

import pytest

from bot.casework.states import (
    CASE_MOVES,
    CASE_STATUSES,
    DRAFT_MOVES,
    CaseMove,
    DraftMove,
    DraftStatus,
    TransitionRefused,
    case_after_reply,
    case_next,
    draft_next,
)

CASE_PAIRS = list(itertools.product(CASE_STATUSES, get_args(CaseMove)))
DRAFT_PAIRS = list(itertools.product(get_args(DraftStatus), get_args(DraftMove)))


@pytest.mark.parametrize(("status", "move"), CASE_PAIRS)
def test_case_transition(status: str, move: CaseMove) -> None:
    if (status, move) in CASE_MOVES:
        assert case_next(status, move) == CASE_MOVES[(status, move)]
    else:
        with pytest.raises(TransitionRefused) as refused:
            case_next(status, move)
        assert refused.value.status == status and refused.value.move == move


@pytest.mark.parametrize(("status", "move"), DRAFT_PAIRS)
def test_draft_transition(status: str, move: DraftMove) -> None:
    if (status, move) in DRAFT_MOVES:
        assert draft_next(status, move) == DRAFT_MOVES[(status, move)]
    else:
        with pytest.raises(TransitionRefused):
            draft_next(status, move)


def test_the_lifecycle_the_issue_describes() -> None:
    assert case_next("open", "reply_sent") == "pending"
    assert case_next("pending", "customer_wrote") == "open"
    assert case_next("open", "snooze") == "snoozed"
    assert case_next("snoozed", "wake") == "open"
    assert case_next("open", "resolve") == "resolved"
    assert case_next("resolved", "reopen") == "open"


def test_a_reply_does_not_wake_parked_or_closed_cases() -> None:
    assert case_after_reply("open") == "pending"
    assert case_after_reply("pending") == "pending"
    assert case_after_reply("snoozed") == "snoozed"
    assert case_after_reply("resolved") == "resolved"


def test_refusals_that_matter() -> None:
    for status, move in [
        ("resolved", "resolve"),
        ("open", "reopen"),
        ("resolved", "snooze"),
        ("open", "wake"),
    ]:
        with pytest.raises(TransitionRefused):
            case_next(status, move)  # type: ignore[arg-type]
    for status, move in [
        ("sent", "approve"),
        ("approved", "approve"),
        ("blocked", "approve"),
        ("rejected", "edit"),
    ]:
        with pytest.raises(TransitionRefused):
            draft_next(status, move)  # type: ignore[arg-type]
