"""Fault: Slack and Discord answer 429 and 500 for a while, with two real workers posting every
event's card to a team channel that lives on both.

Slack: a 429 carries Retry-After; the worker does not sleep on it (it becomes RetryLater: the claim
is released, the event job comes back later through RQ's scheduler, and every worker holds the
channel until then); a 500 is retried twice in place (0.5 s, 1 s), then the same way. Discord: a 429
with `Via` (a real Discord rate limit) and a 500 are retried in place by discord.py for short waits.
Afterwards each card exists exactly once on each platform, whatever was retried."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job

from bot.events import Event
from bot.ingest import Ingestor
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from tests.discord.conftest import STAFF_CHANNEL
from tests.fakes.discord_api import TOKEN, FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.faults.harness import (
    RedisServer,
    Workers,
    assert_all_settled,
    dumped_on_failure,
    make_event,
    processed,
    run_id,
    wait_for_workers,
    wait_until,
    worker_env,
)

SLACK_CHANNEL = "CINBOX0001"
EVENTS = 6
WORKSPACE = f"""\
language: en
channels:
  inbox: {{slack: {SLACK_CHANNEL}, discord: "{STAFF_CHANNEL}"}}
default_channel: inbox
"""


class CountingSlack(FakeSlack):
    """The fake Slack, keeping the messages it actually accepted (not the calls it refused)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.accepted: list[dict[str, Any]] = []

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = super()._answer(method, params)
        if method == "chat.postMessage" and answer.get("ok"):
            with self._lock:
                self.accepted.append(params)
        return answer


@pytest.fixture
def fake_slack() -> Iterator[CountingSlack]:
    fake = CountingSlack()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    fake = FakeDiscord().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_text(WORKSPACE, encoding="utf-8")
    return path


@pytest.fixture
def runtime(sqlite_url: str, redis_server: RedisServer, workspace: Path, tmp_path: Path) -> Iterator[Runtime]:
    """The test's view of the store and queue (console only: the workers own Slack and Discord)."""
    settings = load_settings(
        data_dir=tmp_path, database_url=sqlite_url, redis_url=redis_server.url, workspace=workspace
    )
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


def token(run: str, n: int) -> str:
    return f"{run}x{n}y"


def slack_cards(fake: CountingSlack, tokens: dict[str, str]) -> Counter[str]:
    """Event id → times its card reached the team channel, alone or as a line of a flood digest
    (a digest line quotes the card's text, which carries the event's token)."""
    found: Counter[str] = Counter()
    for params in fake.accepted:
        if params.get("channel") == SLACK_CHANNEL:
            blob = json.dumps(params.get("blocks") or [])
            found.update(event_id for event_id, mark in tokens.items() if mark in blob)
    return found


def discord_cards(fake: FakeDiscord) -> Counter[str]:
    """Event id → messages created in the team channel (the embed footer carries the id)."""
    return Counter(
        embed["footer"]["text"]
        for message in list(fake.messages.values())
        if message["channel_id"] == str(STAFF_CHANNEL)
        for embed in message.get("embeds") or []
        if embed.get("footer")
    )


def job_seconds(runtime: Runtime) -> list[float]:
    """How long each finished event job held its worker."""
    registry = runtime.queue.events.finished_job_registry
    jobs = Job.fetch_many(registry.get_job_ids(), connection=runtime.queue.client)
    return [
        (job.ended_at - job.started_at) / timedelta(seconds=1)
        for job in jobs
        if job is not None and job.started_at is not None and job.ended_at is not None
    ]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_slack_and_discord_429_and_500_every_card_posted_once(
    runtime: Runtime,
    sqlite_url: str,
    redis_server: RedisServer,
    workspace: Path,
    fake_slack: CountingSlack,
    fake_discord: FakeDiscord,
    tmp_path: Path,
) -> None:
    run = run_id()
    events: list[Event] = [
        make_event(n, run, text=f"merci pour tout ({token(run, n)})") for n in range(EVENTS)
    ]
    tokens = {event.id: token(run, n) for n, event in enumerate(events)}
    env = worker_env(
        data_dir=tmp_path,
        database_url=sqlite_url,
        redis_url=redis_server.url,
        workspace=workspace,
        VIGIE_SLACK__BOT_TOKEN="xoxb-fault-test",
        VIGIE_SLACK__API_URL=fake_slack.url,
        VIGIE_DISCORD__TOKEN=TOKEN,
        VIGIE_DISCORD__API_URL=fake_discord.api_url,
    )
    workers = Workers(env=env, logs=tmp_path / "logs", cwd=tmp_path)
    # Slack: rate limited first (Retry-After 2 s), then internal errors; Discord: the same, in order.
    fake_slack.fail_next("chat.postMessage", status=429, count=3, retry_after=2)
    fake_discord.rate_limit_next(3, retry_after=1.0, match="/messages")
    fake_discord.fail_next(500, count=2, match="/messages")
    try:
        with dumped_on_failure(workers):
            workers.spawn(2)
            wait_for_workers(runtime, 2)
            started = time.monotonic()
            Ingestor(runtime.store, runtime.queue).ingest_many(events)
            wait_until(
                lambda: fake_slack.failures["chat.postMessage"].remaining == 0, 30, 0.05, "429s served"
            )
            fake_slack.fail_next("chat.postMessage", status=500, count=6)
            wait_until(lambda: processed(runtime) == EVENTS, 90, 0.1, "every event processed")
            took = time.monotonic() - started

            assert_all_settled(runtime, [e.id for e in events])
            assert fake_slack.failures["chat.postMessage"].remaining == 0
            assert all(f.remaining == 0 for f in fake_discord.failures)
            ids = {e.id for e in events}
            # A card held back in a flood digest counts as applied once queued: the digest goes out
            # at the next flush, within the channel's pacing.
            wait_until(lambda: set(slack_cards(fake_slack, tokens)) == ids, 30, 0.1, "digests flushed")
            assert slack_cards(fake_slack, tokens) == Counter(dict.fromkeys(ids, 1))
            assert discord_cards(fake_discord) == Counter(dict.fromkeys(ids, 1))
            # One thread per Discord card, opened once.
            assert len(fake_discord.threads) == EVENTS
            refused = [c for c in fake_discord.calls if c.status in (429, 500)]
            assert len(refused) == 5
            # Nobody slept on Slack's Retry-After: the events that met it were deferred and re-run.
            with runtime.store.unit() as unit:
                deferred = [
                    row for e in events if (row := unit.events.get(e.id)) is not None and row.attempts
                ]
            assert deferred
            longest = max(job_seconds(runtime))
            assert longest < 10.0
            assert all(process.poll() is None for process in workers.processes)
    finally:
        workers.stop()

    print(
        f"\n[faults] slack 3×429 + 6×500, discord 3×429 + 2×500: {EVENTS} events processed in {took:.1f}s, "
        f"{len(deferred)} deferred and re-run, longest job {longest:.1f}s"
    )
