"""Escalate: crisis signals from the rules are recorded once per event, for the crisis detector and
the incident that gathers them."""

from __future__ import annotations

from bot.events import Effect
from handlers.situation import Situation


def escalate(situation: Situation) -> list[Effect]:
    verdict = situation.verdict
    signals = verdict.live_actions("signal")
    if not signals:
        return []
    return [
        Effect(
            kind="signal",
            subject=situation.event.id,
            params={
                "score": verdict.crisis_score,
                "signals": [str(a.params.get("signal", a.rule)) for a in signals],
                "followers": situation.event.author.followers,
                "source": situation.event.source,
                "brand": situation.event.brand,
            },
        )
    ]
