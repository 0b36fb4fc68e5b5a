"""Attach an event to its customer conversation's case, or open one when the rules route it."""

from __future__ import annotations

from bot.events import Effect, Event, Verdict, utcnow
from bot.runtime import Runtime
from bot.store.models import CaseRow
from bot.store.unit import Unit
from handlers.situation import CaseView


def case_view(unit: Unit, case_id: int, *, created: bool) -> CaseView | None:
    row = unit.session.get(CaseRow, case_id)
    return None if row is None else view_of(row, created=created)


def view_of(row: CaseRow, *, created: bool) -> CaseView:
    return CaseView(
        id=row.id,
        team=row.team,
        status=row.status,
        priority=row.priority,
        assignee=row.assignee,
        created=created,
    )


def attach_case(
    runtime: Runtime, unit: Unit, event: Event, verdict: Verdict, effects: list[Effect]
) -> CaseView | None:
    """The event's case, if any; the case's own effects are added to `effects`."""
    from bot.casework.wiring import open_or_attach

    row, created = open_or_attach(
        unit, event, verdict, runtime.workspace, utcnow(), scheduler=runtime.queue, effects=effects
    )
    return None if row is None else view_of(row, created=created)
