"""Moderate: the rulebook's live moderation actions become effects on the source platform, each with
a reason naming the rule (it lands in Discord's audit log and in Vigie's)."""

from __future__ import annotations

from bot.events import ActionType, Effect
from handlers.situation import Situation

MODERATION_ACTIONS: tuple[ActionType, ...] = ("delete", "hide", "warn", "timeout", "kick", "ban")


def reason_for(rule: str) -> str:
    return f"Vigie: rule {rule}"


def moderate(situation: Situation) -> list[Effect]:
    event = situation.event
    effects = []
    for action in situation.verdict.live_actions(*MODERATION_ACTIONS):
        effects.append(
            Effect(
                kind="moderate",
                subject=event.id,
                name=action.type,
                params={"action": action.model_dump(mode="json"), "reason": reason_for(action.rule)},
            )
        )
    return effects
