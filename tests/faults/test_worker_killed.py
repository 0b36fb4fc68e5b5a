"""Fault: a worker process is SIGKILLed in the middle of a 1,000-event run (two workers; the killed
one is replaced once /healthz shows it gone, as a supervisor watching the worker count would).
The sweeper sees the dead worker's job (its liveness key expired) and enqueues it again; effect
claims and the console's per-key deduplication make the second run harmless."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.httpserver import ServerThread
from bot.ingest import Ingestor
from bot.queue import EVENT_BATCH_MAX
from bot.runtime import Runtime, build_runtime
from bot.server import make_app
from bot.settings import load_settings
from tests.faults.harness import (
    SECRET,
    HealthPoller,
    RedisServer,
    Workers,
    assert_all_settled,
    console_cards,
    dumped_on_failure,
    make_event,
    processed,
    run_id,
    wait_until,
    worker_env,
)

EVENTS = 1000
KILL_AFTER = 200


@pytest.fixture
def runtime(database_url: str, redis_server: RedisServer, tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_server.url,
        workspace=None,
        webhook={"secret": SECRET},
    )
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_sigkill_mid_run_every_event_processed_once(
    runtime: Runtime, database_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    run = run_id()
    events = [make_event(n, run) for n in range(EVENTS)]
    ingest = Ingestor(runtime.store, runtime.queue)
    for start in range(0, EVENTS, 100):
        ingest.ingest_many(events[start : start + 100])
    # Every event is in the queue, EVENT_BATCH_MAX to a job.
    carried = [event_id for job in runtime.queue.events.get_jobs() for event_id in job.args[0]]
    assert sorted(carried) == sorted(e.id for e in events)
    assert runtime.queue.events.count == -(-EVENTS // EVENT_BATCH_MAX)

    server = ServerThread(make_app(runtime), "127.0.0.1", 0)
    server.start()
    server.wait_started()
    health = HealthPoller(f"http://127.0.0.1:{server.port}")
    health.start()
    env = worker_env(data_dir=tmp_path, database_url=database_url, redis_url=redis_server.url, workspace=None)
    workers = Workers(env=env, logs=tmp_path / "logs", cwd=tmp_path)
    started = time.monotonic()
    try:
        with dumped_on_failure(workers):
            victim, _survivor = workers.spawn(2)
            wait_until(lambda: processed(runtime) >= KILL_AFTER, 90, 0.02, f"{KILL_AFTER} events processed")
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            killed_at, killed_wall = time.monotonic(), time.time()
            at_kill = processed(runtime)

            # /healthz counts live workers: the dead one drops out when its liveness key expires.
            noticed = wait_until(
                lambda: (p := health.last()) is not None and p.at > killed_at and p.body.get("workers") == 1,
                20,
                0.05,
                "/healthz reporting one live worker",
            )
            workers.spawn(1)
            wait_until(lambda: processed(runtime) == EVENTS, 120, 0.2, "every event processed")
            finished_at = time.monotonic()
            assert_all_settled(runtime, [e.id for e in events])

            cards = console_cards(runtime)
            assert set(cards.values()) == {1}, [k for k, v in cards.items() if v != 1][:5]
            carded = {event_id for _channel, event_id in cards}
            assert carded == {e.id for e in events}

            with runtime.store.unit() as unit:
                rows = [unit.events.get(e.id) for e in events]
            rerun = [row for row in rows if row is not None and row.attempts > 0]
            # The store and Redis never failed: /healthz said 200 throughout, and counted the workers.
            during = health.between(started, finished_at)
            assert during and all(p.status == 200 for p in during), [p for p in during if p.status != 200][:3]
            wait_until(lambda: (p := health.last()) is not None and p.body.get("workers") == 2, 10, 0.1)
    finally:
        health.stop()
        workers.stop()
        server.stop()

    if rerun:
        requeued_after = max(r.enqueued_at.timestamp() for r in rerun if r.enqueued_at) - killed_wall
        rerun_done_after = max(r.processed_at.timestamp() for r in rerun if r.processed_at) - killed_wall
        sweeper = f"{len(rerun)} re-enqueued {requeued_after:.1f}s, done {rerun_done_after:.1f}s after it"
    else:
        sweeper = "no event needed a re-run (the killed job had done its store writes)"
    print(
        f"\n[faults] sigkill: {EVENTS} events, killed after {at_kill}, /healthz showed 1 worker after "
        f"{noticed:.1f}s, all processed {finished_at - killed_at:.1f}s after the kill "
        f"({finished_at - started:.1f}s run); sweeper: {sweeper}"
    )
