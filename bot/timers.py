"""Scheduled work, dispatched by task name: SLA warnings and breaches, draft expiry and snooze wake-ups
(casework), crisis escalation steps, digests and the retention sweep."""

from __future__ import annotations

from bot.runtime import Runtime


def run_timer(runtime: Runtime, task: str, args: dict[str, object]) -> str:
    if task.startswith("crisis_"):
        from bot.crisis_service import handle_crisis_timer

        handle_crisis_timer(runtime, task, dict(args))
        return task
    if task == "digest":
        from bot.periodic import run_digest

        return run_digest(runtime, dict(args))
    if task == "retention":
        from bot.periodic import run_retention

        return run_retention(runtime, dict(args))
    from bot.casework.wiring import handle_timer

    handle_timer(runtime, task, dict(args))
    return task
