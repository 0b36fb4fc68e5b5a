"""Ingress: store events once, then enqueue their processing. Persist before ack; if Redis is down
at that moment the events go back to `received` and the sweeper enqueues them once it is back."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.events import Event
from bot.ports import IngestResult
from bot.queue import JobQueue
from bot.store.unit import Store

log = logging.getLogger("vigie.ingest")


class Ingestor:
    def __init__(self, store: Store, queue: JobQueue) -> None:
        self.store = store
        self.queue = queue

    def __call__(self, event: Event) -> IngestResult:
        return self.ingest_many([event])[0]

    def ingest_many(self, events: Sequence[Event]) -> list[IngestResult]:
        # One transaction stores the new events already naming the jobs that will carry them (one
        # wait for SQLite's writer, not two); the jobs are enqueued once it has committed, so a
        # worker never meets a job whose events it cannot read yet.
        with self.store.unit() as unit:
            new_ids = unit.events.insert_many(events)
            fresh = list(dict.fromkeys(event.id for event in events if event.id in new_ids))
            jobs = JobQueue.event_jobs([(event_id, 0) for event_id in fresh])
            unit.events.mark_queued(
                {event_id: job_id for job_id, (event_ids, _) in jobs.items() for event_id in event_ids}
            )
        try:
            self.queue.enqueue_event_jobs(jobs)
        except Exception as error:  # Redis unavailable: stored is enough, the sweeper catches up
            log.warning("could not enqueue %d event(s), the sweeper will: %s", len(fresh), error)
            self._unqueue(fresh)
        results = []
        first_seen: set[str] = set()
        for event in events:
            duplicate = event.id not in new_ids or event.id in first_seen
            first_seen.add(event.id)
            results.append(IngestResult(id=event.id, duplicate=duplicate))
        return results

    def _unqueue(self, event_ids: list[str]) -> None:
        """Back to `received`, which the sweeper enqueues within seconds. If the store fails too, the
        sweeper still finds them, later: queued, with a job Redis does not know."""
        try:
            with self.store.unit() as unit:
                unit.events.mark_unqueued(event_ids)
        except Exception as error:
            log.warning("could not mark %d event(s) unqueued: %s", len(event_ids), error)
