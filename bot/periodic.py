"""Recurring jobs on RQ's scheduler: the daily and weekly digests and the retention sweep.

Each run schedules the next one; `ensure_scheduled` (called when a worker starts) puts the first run
in place. Job keys are derived from the run time, so several workers starting at once schedule each
run once, and a run executed twice posts its digest once (effect keys carry the run time)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal, cast

from bot.applier import apply_effects
from bot.events import Effect, utcnow
from bot.queue import worker_name
from bot.runtime import Runtime

log = logging.getLogger("vigie.periodic")

RETENTION_AT = time(3, 30)  # UTC: a quiet hour for most brands, away from the morning digests
DigestKind = Literal["daily", "weekly"]


def ensure_scheduled(runtime: Runtime, now: datetime | None = None) -> None:
    from bot.reports.service import first_digest_runs

    moment = now or utcnow()
    for kind, run_at in first_digest_runs(runtime.workspace, moment).items():
        runtime.queue.schedule(
            f"digest:{kind}", run_at, "digest", {"kind": kind, "run_at": run_at.isoformat()}
        )
    runtime.queue.schedule("retention", next_retention(moment), "retention", {})


def next_retention(after: datetime) -> datetime:
    today = datetime.combine(after.astimezone(UTC).date(), RETENTION_AT, tzinfo=UTC)
    return today if today > after else today + timedelta(days=1)


def run_digest(runtime: Runtime, args: dict[str, Any]) -> str:
    from bot.reports.service import prepare_digest

    kind = cast(DigestKind, str(args["kind"]))
    run_at = datetime.fromisoformat(str(args["run_at"]))
    digest = prepare_digest(runtime.store, runtime.workspace, kind, run_at)
    if digest is None:
        return "not configured"
    stamp = run_at.strftime("%Y%m%dT%H%M")
    platforms = frozenset(runtime.team_chats)
    effects = [
        Effect(
            kind="post_card",
            subject=f"digest:{kind}:{stamp}",
            name=f"{platform}:{target}",
            params={
                "platform": platform,
                "channel": target,
                "card": digest.card.model_dump(mode="json"),
                "thread": None,
                "case_id": None,
            },
        )
        for channel in digest.channels
        for platform, target in runtime.workspace.channel_targets(channel, platforms)
    ]
    with runtime.store.unit() as unit:
        unit.effects.record(effects)
    apply_effects(runtime, effects, worker_name())
    runtime.queue.schedule(
        f"digest:{kind}", digest.next_at, "digest", {"kind": kind, "run_at": digest.next_at.isoformat()}
    )
    return f"posted to {len(effects)} channel(s)"


def run_retention(runtime: Runtime, args: dict[str, Any]) -> str:
    from bot.reports.service import run_retention as enforce

    removed = enforce(runtime.store, runtime.workspace)
    runtime.queue.schedule("retention", next_retention(utcnow() + timedelta(minutes=1)), "retention", {})
    log.info("retention removed %s", removed)
    return str(removed)
