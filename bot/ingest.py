"""Ingress: store events once, then enqueue their processing. Persist before ack; if Redis is down
at that moment the events stay `received` and the sweeper enqueues them once it is back."""

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
        with self.store.unit() as unit:
            new_ids = unit.events.insert_many(events)
        fresh: list[str] = []
        seen: set[str] = set()
        for event in events:
            if event.id in new_ids and event.id not in seen:
                fresh.append(event.id)
            seen.add(event.id)
        if fresh:
            try:
                jobs = self.queue.enqueue_events([(event_id, 0) for event_id in fresh])
            except Exception as error:  # Redis unavailable: stored is enough, the sweeper catches up
                log.warning("could not enqueue %d event(s), the sweeper will: %s", len(fresh), error)
            else:
                with self.store.unit() as unit:
                    unit.events.mark_queued(jobs)
        results = []
        first_seen: set[str] = set()
        for event in events:
            duplicate = event.id not in new_ids or event.id in first_seen
            first_seen.add(event.id)
            results.append(IngestResult(id=event.id, duplicate=duplicate))
        return results
