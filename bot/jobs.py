"""RQ job entry points. Each worker process builds its runtime once, from the environment, and
reuses it for every job (connections, rulebook, platform clients)."""

from __future__ import annotations

import logging
import os
import threading

from bot.applier import EffectsDeferred, apply_effects
from bot.pipeline import process_events as _process_events
from bot.queue import JobQueue, worker_name
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings

log = logging.getLogger("vigie.jobs")

_runtime: Runtime | None = None
_lock = threading.Lock()


def runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(load_settings(), redis_url=os.environ.get("VIGIE_REDIS_URL"))
        return _runtime


def install_runtime(value: Runtime | None) -> None:
    """Used by in-process workers (`vigie worker` in the same process as its runtime, tests)."""
    global _runtime
    with _lock:
        _runtime = value


def process_event(event_id: str) -> str:
    """Jobs enqueued before batches existed; the same path as a batch of one."""
    return process_events([event_id])


def process_events(event_ids: list[str]) -> str:
    """Process a batch of events. Events a platform asked to wait for are rescheduled one by one.
    A batch that fails is split: each event goes on as a job of its own (with RQ's retries), so one
    bad event cannot hold the others back; a job of one event fails and is retried by RQ."""
    rt = runtime()
    rt.rules.maybe_reload()
    try:
        done = _process_events(rt, event_ids, worker_name())
    except Exception:
        if len(event_ids) == 1:
            raise
        log.exception("batch of %d events failed: splitting it into single-event jobs", len(event_ids))
        # All or nothing: if the store cannot take the split (it may be what failed), this raises and
        # RQ retries the whole batch; once committed, the rows name their own jobs, and one that the
        # enqueue below fails to create is re-enqueued by the sweeper.
        split = _mark_requeued(rt, event_ids)
        try:
            rt.queue.enqueue_events(split)
        except Exception as error:  # Redis unavailable: the sweeper enqueues them once it is back
            log.warning("split batch not enqueued, the sweeper will: %s", error)
        return f"split {len(event_ids)}"
    for event_id, seconds in done.deferred.items():
        _requeue(rt, event_id, delay=seconds)
    counts: dict[str, int] = {}
    for outcome in done.outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    if done.deferred:
        counts["deferred"] = len(done.deferred)
    return ",".join(f"{outcome}={count}" for outcome, count in sorted(counts.items()))


def _mark_requeued(rt: Runtime, event_ids: list[str]) -> list[tuple[str, int]]:
    """Each unprocessed event of a batch on a job of its own (next attempt), in one transaction."""
    split: list[tuple[str, int]] = []
    with rt.store.unit() as unit:
        for event_id, row in unit.events.get_many(event_ids).items():
            if row.status != "processed":
                attempt = row.attempts + 1
                unit.events.mark_requeued(event_id, attempt, JobQueue.event_job_id(event_id, attempt))
                split.append((event_id, attempt))
    return split


def _requeue(rt: Runtime, event_id: str, delay: float) -> None:
    """The event's next attempt as a job of its own, now or after `delay` seconds. Store first: an
    enqueue that fails leaves the event queued with a job Redis does not know, which the sweeper
    re-enqueues."""
    split = _mark_requeued(rt, [event_id])
    if not split:
        return  # processed meanwhile, or gone
    if delay > 0:
        rt.queue.retry_event_later(event_id, split[0][1], delay)
    else:
        rt.queue.enqueue_events(split)


def apply_effects_job(keys: list[str]) -> str:
    rt = runtime()
    with rt.store.unit() as unit:
        effects = [e for e in (unit.effects.effect(k) for k in keys) if e is not None]
    try:
        outcomes = apply_effects(rt, effects, worker_name())
    except EffectsDeferred as deferred:
        rt.queue.enqueue_effects(deferred.keys, delay=deferred.seconds, attempt=1)
        return f"deferred {len(deferred.keys)}"
    return ",".join(sorted(set(outcomes.values())))


def run_timer(task: str, args: dict[str, object]) -> str:
    from bot.timers import run_timer as _run

    return _run(runtime(), task, args)


def ping() -> str:
    """A job that does nothing: worker liveness checks and the benchmark's no-op baseline."""
    return "pong"
