"""The satisfaction survey around a case: asked when the case is resolved, answered by a short 1–5
rating on the customer's conversation (config, texts and the parser: `bot.casework.survey`).

* Sending: `survey_effects` (in the `resolve` verb's transaction) gives one `survey` effect keyed
  `case:<id>:survey`. The key is the "once" guarantee: a case resolved, reopened and resolved
  again is asked once, ever; a delivery that failed for good is not retried by a later resolve.
  The applier sends it like an approved reply and calls `survey_sent`, which stamps
  `CaseRow.survey_sent_at`.
* Answering: `record_answer` runs in the worker before routing. A rating from the customer on the
  conversation of a resolved case whose survey was sent within `survey.answer_within` is written
  into the event (`metadata.survey_case`, `rating`: what the satisfaction KPI reads) and neither
  reopens the case nor opens one. Anything else on that conversation routes as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.casework.context import SYSTEM, Config, event_of
from bot.casework.survey import parse_rating, survey_lang
from bot.events import Effect, Event
from bot.store.cases import CaseRepo, EventLookup
from bot.store.models import CaseRow
from bot.store.unit import Unit
from bot.workspace import Workspace

# Platforms stamp messages with their own clocks: an answer may look a little older than the
# moment Vigie recorded the survey as sent.
CLOCK_SKEW = timedelta(minutes=2)
MAX_METADATA = 50  # Event refuses more keys; an event already full cannot carry `survey_case`


def survey_effects(unit: Unit, config: Config, case: CaseRow) -> list[Effect]:
    """The survey for a case just resolved, when the workspace asks for one and it was not sent."""
    survey = config.workspace.survey
    if not survey.enabled or case.survey_sent_at is not None:
        return []
    # The case's last event is its customer's latest message (staff messages never join a case).
    event = event_of(unit, case.last_event_id)
    if event is None:
        return []
    verdict = unit.events.verdict(event.id)
    lang = survey_lang(event.lang, verdict.lang if verdict else None, default=config.lang)
    return [
        Effect(
            kind="survey",
            subject=f"case:{case.id}",
            params={
                "case_id": case.id,
                "event_id": event.id,
                "text": survey.question_for(lang),
                "lang": lang,
            },
        )
    ]


def survey_sent(unit: Unit, effect: Effect, at: datetime) -> None:
    """The applier delivered a `survey` effect: its answer window starts now."""
    case_id = int(str(effect.params["case_id"]))
    if CaseRepo(unit).mark_survey_sent(case_id, at):
        unit.audit(
            actor=SYSTEM,
            door="worker",
            action="case.survey_sent",
            subject=f"case:{case_id}",
            detail={"event": effect.params.get("event_id"), "lang": effect.params.get("lang")},
            at=at,
        )


def record_answer(unit: Unit, workspace: Workspace, event: Event, now: datetime) -> int | None:
    """Record the event as the survey answer of its conversation's case; the case id, or None when
    the event is not one (it then routes as any other message)."""
    rating = parse_rating(event.text)
    if rating is None or len(event.metadata) >= MAX_METADATA:
        return None
    if workspace.staff_by_identity(event.source, event.author.id) is not None:
        return None
    case = CaseRepo(unit).latest_for_conversation(event.conversation_key)
    # Only a resolved case: once it is reopened, "4" answers whatever the agent asked since.
    if case is None or case.status != "resolved" or case.survey_sent_at is None:
        return None
    sent = case.survey_sent_at
    if not sent - CLOCK_SKEW <= event.created_at <= sent + workspace.survey.answer_within:
        return None
    replaced = EventLookup(unit).record_survey_answer(
        event.id, case.id, rating, conversation_key=event.conversation_key, since=sent - CLOCK_SKEW
    )
    if replaced is not None:
        detail: dict[str, Any] = {"event": event.id, "rating": rating}
        if replaced:
            detail["replaces"] = replaced
        unit.audit(
            actor=SYSTEM,
            door="worker",
            action="case.survey_answer",
            subject=f"case:{case.id}",
            detail=detail,
            at=now,
        )
    return case.id
