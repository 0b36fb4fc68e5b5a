"""Where the worker hands crisis signals over to crisis detection."""

from __future__ import annotations

from typing import Any

from bot.events import Effect
from bot.runtime import Runtime


def record_signal(runtime: Runtime, effect: Effect) -> dict[str, Any]:
    with runtime.store.unit() as unit:
        unit.audit(
            actor="vigie",
            door="worker",
            action="crisis.signal",
            subject=effect.subject,
            detail={"score": effect.params.get("score"), "signals": effect.params.get("signals")},
        )
    return {"score": effect.params.get("score")}
