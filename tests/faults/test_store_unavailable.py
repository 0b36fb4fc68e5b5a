"""Fault: the store is unavailable for a few seconds in the middle of a run, with the HTTP server and
two workers running and webhooks arriving.

* SQLite: another process holds the write lock (`BEGIN EXCLUSIVE`) for 3 s. Writers wait (busy
  timeout), nothing fails; /healthz says the store is locked meanwhile.
* PostgreSQL (when VIGIE_TEST_DATABASE_URL is set): every connection goes through a TCP proxy that is
  cut for 3 s (open connections reset, new ones refused), as during a database restart or failover.
  Webhooks that arrive meanwhile are refused with a 5xx (nothing stored, so nothing acknowledged) and
  the sender delivers them again; jobs that fail are retried by RQ (1 s, 5 s, …)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

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
    TcpProxy,
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

OUTAGE_SECONDS = 3.0
PER_PHASE = 40


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not os.environ.get("VIGIE_TEST_DATABASE_URL"):
        pytest.skip("VIGIE_TEST_DATABASE_URL is not set")
    return str(request.param)


class Outage:
    """Makes the store unavailable for a while, the way the backend does in real life."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.proxy: TcpProxy | None = None
        self.lock: sqlite3.Connection | None = None
        if backend == "postgres":
            parsed = make_url(url)
            self.proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
            self.url = parsed.set(host="127.0.0.1", port=self.proxy.port).render_as_string(
                hide_password=False
            )
        else:
            self.path = url.removeprefix("sqlite:///")
            self.url = url

    def begin(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
            return
        self.lock = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.lock.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        elif self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None

    def close(self) -> None:
        self.end()
        if self.proxy is not None:
            self.proxy.close()


@pytest.fixture
def outage(backend: str, request: pytest.FixtureRequest) -> Iterator[Outage]:
    url = request.getfixturevalue("postgres_database" if backend == "postgres" else "sqlite_url")
    cut = Outage(backend, str(url))
    try:
        yield cut
    finally:
        cut.close()


@pytest.fixture
def runtime(outage: Outage, redis_server: RedisServer, tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=outage.url,
        redis_url=redis_server.url,
        workspace=None,
        webhook={"secret": SECRET},
    )
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


class Sender(threading.Thread):
    """A source's integration: posts its events in order and delivers again any that was not
    acknowledged with 202 (as webhook senders do on 5xx and timeouts)."""

    def __init__(self, base_url: str, events: list[Event], deadline: float) -> None:
        super().__init__(name="webhook-sender", daemon=True)
        self.poster = SignedPoster(base_url)
        self.events = events
        self.deadline = deadline
        self.refused: list[tuple[str, int | str]] = []
        self.acknowledged: list[str] = []
        self.slowest = 0.0

    def run(self) -> None:
        try:
            for event in self.events:
                while time.monotonic() < self.deadline:
                    started = time.monotonic()
                    try:
                        response = self.poster.post(event)
                        outcome: int | str = response.status_code
                    except httpx.HTTPError as error:
                        outcome = type(error).__name__
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    if outcome == 202:
                        self.acknowledged.append(event.id)
                        break
                    self.refused.append((event.external_id, outcome))
                    time.sleep(0.25)
                time.sleep(0.05)
        finally:
            self.poster.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_store_unavailable_for_seconds_every_event_processed_once(
    backend: str, outage: Outage, runtime: Runtime, redis_server: RedisServer, tmp_path: Path
) -> None:
    run = run_id()
    events = [make_event(n, run) for n in range(3 * PER_PHASE)]
    server = ServerThread(make_app(runtime), "127.0.0.1", 0)
    server.start()
    server.wait_started()
    base = f"http://127.0.0.1:{server.port}"
    health = HealthPoller(base, interval=0.2, timeout=10)
    health.start()
    env = worker_env(data_dir=tmp_path, database_url=outage.url, redis_url=redis_server.url, workspace=None)
    workers = Workers(env=env, logs=tmp_path / "logs", cwd=tmp_path)
    sender = Sender(base, events, deadline=time.monotonic() + 60)
    try:
        with dumped_on_failure(workers):
            workers.spawn(2)
            wait_for_workers(runtime, 2)
            sender.start()
            wait_until(lambda: len(sender.acknowledged) >= PER_PHASE, 30, 0.05, "first events acknowledged")
            outage.begin()
            down_at = time.monotonic()
            said_down = wait_until(
                lambda: any(
                    p.status == 503 and any(x.startswith("store") for x in p.problems)
                    for p in health.between(down_at, time.monotonic())
                ),
                OUTAGE_SECONDS,
                0.05,
                "/healthz 503 naming the store",
            )
            time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
            outage.end()
            up_at = time.monotonic()
            said_up = wait_until(
                lambda: (p := health.last()) is not None and p.at > up_at and p.status == 200,
                10,
                0.05,
                "/healthz 200 again",
            )
            sender.join(timeout=70)
            assert sorted(sender.acknowledged) == sorted(e.id for e in events)
            wait_until(lambda: processed(runtime) == len(events), 90, 0.2, "every event processed")
            recovered = time.monotonic() - up_at

            assert_all_settled(runtime, [e.id for e in events])
            cards = console_cards(runtime)
            assert set(cards.values()) == {1}
            assert {event_id for _channel, event_id in cards} == {e.id for e in events}
            # A probe that started less than the ping's lock wait before the release may get the lock.
            outage_probes = health.between(down_at + 0.05, up_at - 1.2)
            assert outage_probes and all(p.status == 503 for p in outage_probes), outage_probes
            assert all(any(x.startswith("store") for x in p.problems) for p in outage_probes)
            assert all(p.seconds < 2.5 for p in health.probes), max(p.seconds for p in health.probes)
            assert all(process.poll() is None for process in workers.processes), "a worker exited"
            if backend == "postgres":
                assert sender.refused, "a webhook arriving while PostgreSQL is unreachable must not get 202"
            else:
                assert sender.refused == []  # SQLite writers wait for the lock
    finally:
        health.stop()
        workers.stop()
        server.stop()

    print(
        f"\n[faults] store unavailable ({backend}, {OUTAGE_SECONDS:.0f}s): /healthz 503 after "
        f"{said_down:.2f}s, 200 {said_up:.2f}s after; webhook slowest {sender.slowest:.2f}s, "
        f"refused {len(sender.refused)} time(s) {sorted({str(o) for _e, o in sender.refused})}; "
        f"all {len(events)} processed "
        f"{recovered:.1f}s after the store came back"
    )
