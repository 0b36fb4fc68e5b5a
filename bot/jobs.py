"""RQ job entry points. Each worker process builds its runtime once, from the environment, and
reuses it for every job (connections, rulebook, platform clients)."""

from __future__ import annotations

import logging
import os
import threading

from bot.applier import EffectsDeferred, apply_effects
from bot.pipeline import process_event as _process_event
from bot.queue import worker_name
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
    rt = runtime()
    rt.rules.maybe_reload()
    try:
        return _process_event(rt, event_id, worker_name())
    except EffectsDeferred as deferred:
        with rt.store.unit() as unit:
            row = unit.events.get(event_id)
            attempt = (row.attempts if row else 0) + 1
            unit.events.mark_requeued(event_id, attempt)
        rt.queue.retry_event_later(event_id, attempt, deferred.seconds)
        return f"deferred {deferred.seconds:.1f}s"


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
