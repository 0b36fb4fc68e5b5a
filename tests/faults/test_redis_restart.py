"""Fault: Redis stops (SIGKILL) in the middle of a run and comes back a few seconds later, with the
HTTP server and two workers running and webhooks arriving all along.

Two deployments are tried: Redis with its append-only file (docker-compose.yml, what production
runs: queued jobs survive a restart, up to a second of writes may not) and Redis without
persistence (an embedded or cache-configured Redis, or a failover to an empty replica: every queued
job is lost). In both, the webhook keeps answering 202 (the event is stored; only the enqueue fails),
/healthz answers 503 naming Redis while it is down, and the sweeper enqueues from the store whatever
Redis does not hold once it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.events import Event
from bot.httpserver import ServerThread
from bot.runtime import Runtime, build_runtime
from bot.server import make_app
from bot.settings import load_settings
from tests.faults.harness import (
    SECRET,
    HealthPoller,
    RedisServer,
    SignedPoster,
    Workers,
    assert_all_settled,
    console_cards,
    dumped_on_failure,
    make_event,
    processed,
    run_id,
    wait_for_workers,
    wait_until,
    worker_env,
)

PER_PHASE = 60
OUTAGE_SECONDS = 4.0


@pytest.fixture(params=["aof", "none"])
def redis_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=request.param == "aof")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def runtime(sqlite_url: str, redis_server: RedisServer, tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        redis_url=redis_server.url,
        workspace=None,
        webhook={"secret": SECRET},
    )
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


def post_all(poster: SignedPoster, events: list[Event]) -> float:
    """Post each event; every one must be acknowledged with 202. Returns the slowest answer."""
    slowest = 0.0
    for event in events:
        started = time.monotonic()
        response = poster.post(event)
        slowest = max(slowest, time.monotonic() - started)
        assert response.status_code == 202, (event.external_id, response.status_code, response.text)
        assert response.json() == {"id": event.id, "duplicate": False}
    return slowest


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_redis_restart_mid_run_every_event_processed_once(
    runtime: Runtime, sqlite_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    run = run_id()
    events = [make_event(n, run) for n in range(3 * PER_PHASE)]
    before, during, after = (events[i * PER_PHASE : (i + 1) * PER_PHASE] for i in range(3))

    server = ServerThread(make_app(runtime), "127.0.0.1", 0)
    server.start()
    server.wait_started()
    base = f"http://127.0.0.1:{server.port}"
    health = HealthPoller(base, interval=0.2)
    health.start()
    poster = SignedPoster(base)
    env = worker_env(data_dir=tmp_path, database_url=sqlite_url, redis_url=redis_server.url, workspace=None)
    workers = Workers(env=env, logs=tmp_path / "logs", cwd=tmp_path)
    try:
        with dumped_on_failure(workers):
            workers.spawn(2)
            wait_for_workers(runtime, 2)
            post_all(poster, before)
            wait_until(lambda: processed(runtime) >= 10, 60, 0.05, "workers under way")

            redis_server.kill()
            down_at = time.monotonic()
            slowest_while_down = post_all(poster, during)
            said_down = wait_until(
                lambda: any(
                    p.status == 503 and any(x.startswith("redis") for x in p.problems)
                    for p in health.between(down_at, time.monotonic())
                ),
                5,
                0.05,
                "/healthz 503 naming redis",
            )
            time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
            restarting_at = time.monotonic()
            redis_server.start()
            up_at = time.monotonic()
            said_up = wait_until(
                lambda: (p := health.last()) is not None and p.at > up_at and p.status == 200,
                10,
                0.05,
                "/healthz 200 again",
            )
            post_all(poster, after)
            wait_until(lambda: processed(runtime) == len(events), 90, 0.2, "every event processed")
            recovered = time.monotonic() - up_at

            assert_all_settled(runtime, [e.id for e in events])
            cards = console_cards(runtime)
            assert set(cards.values()) == {1}
            assert {event_id for _channel, event_id in cards} == {e.id for e in events}
            # While Redis was down every answer of /healthz named it; none said ok.
            outage = [p for p in health.between(down_at + said_down, restarting_at) if p.status is not None]
            assert outage and all(p.status == 503 for p in outage), [p for p in outage if p.status != 503]
            assert all(any(x.startswith("redis") for x in p.problems) for p in outage)
            assert all(p.seconds < 2.0 for p in health.between(down_at, up_at)), "healthz answered slowly"
            assert all(p.status is not None for p in health.probes)
            assert all(process.poll() is None for process in workers.processes), "a worker exited"
    finally:
        health.stop()
        poster.close()
        workers.stop()
        server.stop()

    print(
        f"\n[faults] redis restart (appendonly={redis_server.appendonly}): /healthz 503 after "
        f"{said_down:.2f}s, webhook slowest {slowest_while_down * 1000:.0f} ms while down, "
        f"/healthz 200 {said_up:.2f}s after restart, all {len(events)} processed "
        f"{recovered:.1f}s after restart"
    )
