"""Scheduled work (SLA warnings and breaches, draft expiry, escalation steps), dispatched by task name."""

from __future__ import annotations

from bot.runtime import Runtime


def run_timer(runtime: Runtime, task: str, args: dict[str, object]) -> str:
    from bot.casework.timers import handle_timer

    handle_timer(runtime, task, args)
    return task
