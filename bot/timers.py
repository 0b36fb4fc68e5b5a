"""Scheduled work (SLA warnings and breaches, draft expiry, escalation steps), dispatched by task name."""

from __future__ import annotations

from bot.runtime import Runtime


def run_timer(runtime: Runtime, task: str, args: dict[str, object]) -> str:
    if task.startswith("crisis_"):
        from bot.crisis_service import handle_crisis_timer

        handle_crisis_timer(runtime, task, dict(args))
        return task
    from bot.casework.timers import handle_timer

    handle_timer(runtime, task, args)
    return task
