"""The sweeper finds events that fell between the store and the queue and puts them back:
- stored but never enqueued (Redis was down when they arrived);
- enqueued, but the job is gone (Redis restarted without persistence) or its worker died (SIGKILL,
  OOM): RQ alone would notice only after ~11 minutes; our worker liveness keys expire in seconds.
Re-enqueued jobs get a new id (attempt number); the effect claims make the re-run harmless."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

from bot.queue import JobQueue
from bot.store.unit import Store

log = logging.getLogger("vigie.sweeper")

UNQUEUED_AFTER = timedelta(seconds=2)
CHECK_QUEUED_AFTER = timedelta(seconds=10)
LOCK_KEY = "vigie:sweeper:lock"


def sweep(store: Store, queue: JobQueue) -> dict[str, int]:
    """One pass; returns what it did."""
    done = {"enqueued": 0, "requeued": 0, "promoted": queue.promote_overdue()}
    with store.unit() as unit:
        unqueued = unit.events.unqueued(UNQUEUED_AFTER)
        stale = unit.events.queued_since(CHECK_QUEUED_AFTER)
    if unqueued:
        jobs = queue.enqueue_events([(event_id, 0) for event_id in unqueued])
        with store.unit() as unit:
            unit.events.mark_queued(jobs)
        done["enqueued"] = len(unqueued)
    waiting: set[str] | None = queue.waiting_event_jobs() if stale else None
    states: dict[str, tuple[str, str | None] | None] = {}  # one look-up per job, not per event
    for event_id, attempt, carrier in stale:
        job_id = carrier or JobQueue.event_job_id(event_id, attempt)
        if job_id not in states:
            states[job_id] = queue.job_state(job_id)
        state = states[job_id]
        if state is not None:
            status, worker = state
            # "queued" but not in the queue: popped by a worker that lost Redis before starting it.
            if status == "queued" and (waiting is None or job_id in waiting):
                continue
            if status in ("scheduled", "deferred"):
                continue
            if status == "started" and queue.worker_alive(worker):
                continue
            if status == "finished":
                continue  # finished but the event is not processed: the job decided so (deferred)
        next_attempt = attempt + 1
        # Store first: marked after the enqueue, a job that finished in between would be undone
        # (processed → queued, for good). If the enqueue fails, the next sweep finds no job.
        with store.unit() as unit:
            unit.events.mark_requeued(event_id, next_attempt, JobQueue.event_job_id(event_id, next_attempt))
        queue.enqueue_events([(event_id, next_attempt)])
        done["requeued"] += 1
        log.warning("re-enqueued %s (attempt %d, job state %s)", event_id, next_attempt, state)
    return done


class Sweeper(threading.Thread):
    """Runs `sweep` every few seconds in a worker process; a Redis lock keeps it to one at a time."""

    def __init__(
        self,
        store: Store,
        queue: JobQueue,
        interval: float,
        periodic: Sequence[Callable[[], object]] = (),
    ) -> None:
        super().__init__(name="vigie-sweeper", daemon=True)
        self.store = store
        self.queue = queue
        self.interval = interval
        # Other small periodic duties of a worker process (Slack flood digests): they are safe to
        # run from every worker at once, so they are not under the sweep lock.
        self.periodic = list(periodic)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                if self.queue.client.set(LOCK_KEY, "1", nx=True, ex=max(1, int(self.interval))):
                    sweep(self.store, self.queue)
            except Exception as error:  # store or Redis down: try again next tick, /healthz says why
                log.warning("sweep skipped: %s", error)
            for duty in self.periodic:
                try:
                    duty()
                except Exception as error:  # one failing duty must not stop the others
                    log.warning("periodic duty %s failed: %s", getattr(duty, "__qualname__", duty), error)

    def stop(self) -> None:
        self.stopping.set()
