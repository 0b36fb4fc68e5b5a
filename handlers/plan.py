"""The handlers in their order: moderate → mirror → escalate (routing happens in the store
transaction that opens or attaches the case, before the plan). Pure: a Situation in, effects out."""

from __future__ import annotations

from bot.events import Effect
from handlers.escalate import escalate
from handlers.mirror import mirror
from handlers.moderate import moderate
from handlers.situation import Situation


def plan(situation: Situation) -> list[Effect]:
    return [*moderate(situation), *mirror(situation), *escalate(situation)]
