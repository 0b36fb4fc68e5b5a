"""End to end on real Redis and a real store (SQLite, and PostgreSQL when configured): ingest →
RQ worker → rulebook → handlers → console channels, with effects applied once however often a job
runs, and a worker killed with SIGKILL mid-run recovered by the sweeper."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.events import Author, Event
from bot.ingest import Ingestor
from bot.pipeline import process_event
from bot.platforms.console.chat import channel_names, read_channel
from bot.queue import run_worker
from bot.runtime import Runtime
from bot.sweeper import sweep

REPO = Path(__file__).resolve().parents[2]


def make_event(n: int, text: str, **extra: object) -> Event:
    return Event.model_validate(
        {
            "source": extra.pop("source", "instagram"),
            "kind": extra.pop("kind", "comment"),
            "external_id": f"e-{n}",
            "text": text,
            "author": Author(id=f"a-{n}", name=f"Author {n}").model_dump(),
            **extra,
        }
    )


def all_cards(rt: Runtime) -> list[tuple[str, str]]:
    """(channel, footer) of every console message."""
    return [
        (name, card.footer)
        for name in channel_names(rt.store)
        for _i, _t, card in read_channel(rt.store, name)
    ]


def test_events_flow_to_console_channels_with_verdicts(runtime: Runtime) -> None:
    ingest = Ingestor(runtime.store, runtime.queue)
    praise = make_event(1, "Trop belle la nouvelle collection, bravo !")
    insult = make_event(2, "t'es vraiment un c0nn4rd")
    complaint = make_event(
        3, "Colis arrivé cassé, je veux être remboursé", kind="review", rating=1, source="google-reviews"
    )
    for event in (praise, insult, complaint):
        assert ingest(event).duplicate is False
    assert ingest(praise).duplicate is True

    run_worker(runtime.redis.client, burst=True, with_scheduler=False)

    with runtime.store.unit() as unit:
        assert unit.events.status_counts() == {"processed": 3}
        insult_verdict = unit.events.verdict(insult.id)
        complaint_verdict = unit.events.verdict(complaint.id)
    assert insult_verdict is not None and "toxic" in insult_verdict.labels
    assert complaint_verdict is not None and "after-sales" in complaint_verdict.labels
    cards = all_cards(runtime)
    channels_of = {footer: channel for channel, footer in cards}
    assert channels_of[praise.id] == "inbox"
    assert channels_of[insult.id] == "moderation"
    assert ("after-sales", complaint.id) in cards
    # The insult was hidden on its source: the console outbox records the moderation.
    outbox = [card for _i, _t, card in read_channel(runtime.store, "outbox")]
    assert any(card.fields and dict(card.fields).get("message") == "e-2" for card in outbox)


def test_a_job_that_runs_twice_applies_its_effects_once(runtime: Runtime) -> None:
    ingest = Ingestor(runtime.store, runtime.queue)
    event = make_event(7, "you are an id10t")
    ingest(event)
    first = process_event(runtime, event.id, "worker-a")
    before = Counter(all_cards(runtime))
    second = process_event(runtime, event.id, "worker-b")
    after = Counter(all_cards(runtime))
    assert (first, second) == ("processed", "already")
    assert before == after
    assert sum(1 for _c, footer in after if footer == event.id) >= 1
    with runtime.store.unit() as unit:
        effects = unit.effects.for_subject(event.id)
    assert effects and all(e.status == "applied" and e.attempts == 1 for e in effects)


def test_sweeper_enqueues_events_stored_while_redis_was_unavailable(runtime: Runtime) -> None:
    event = make_event(9, "Bonjour, livrez-vous en Belgique ?")
    with runtime.store.unit() as unit:
        unit.events.insert_many([event])  # stored, never enqueued: as if Redis had been down
    assert runtime.queue.events.count == 0
    time.sleep(2.1)
    assert sweep(runtime.store, runtime.queue)["enqueued"] == 1
    run_worker(runtime.redis.client, burst=True, with_scheduler=False)
    with runtime.store.unit() as unit:
        row = unit.events.get(event.id)
        assert row is not None and row.status == "processed"


def _worker_env(runtime: Runtime, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VIGIE_DATA_DIR=str(tmp_path),
        VIGIE_DATABASE_URL=runtime.store.db.url,
        VIGIE_REDIS_URL=runtime.redis.url,
        VIGIE_RULES_DIR=str(REPO / "rules"),
        VIGIE_WORKER__SWEEP_INTERVAL_SECONDS="1",
    )
    env.pop("VIGIE_WORKSPACE", None)
    return env


@pytest.mark.slow
def test_worker_killed_mid_run_leaves_every_event_processed_once(runtime: Runtime, tmp_path: Path) -> None:
    ingest = Ingestor(runtime.store, runtime.queue)
    events = [
        make_event(100 + n, f"message numéro {n}, t'es un c0nnard" if n % 3 == 0 else f"merci {n}")
        for n in range(150)
    ]
    ingest.ingest_many(events)
    env = _worker_env(runtime, tmp_path)
    victim = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with runtime.store.unit() as unit:
                if unit.events.status_counts().get("processed", 0) >= 20:
                    break
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()
        survivor = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, cwd=REPO)
        try:
            deadline = killed_at + 90
            processed = 0
            while time.monotonic() < deadline:
                with runtime.store.unit() as unit:
                    processed = unit.events.status_counts().get("processed", 0)
                if processed == len(events):
                    break
                time.sleep(0.2)
            recovered_in = time.monotonic() - killed_at
            assert processed == len(events)
            assert recovered_in < 60
        finally:
            survivor.send_signal(signal.SIGTERM)
            survivor.wait(timeout=20)
    finally:
        if victim.poll() is None:
            victim.kill()
    footers = Counter(footer for _channel, footer in all_cards(runtime))
    for event in events:
        assert footers[event.id] == 1, event.id
    with runtime.store.unit() as unit:
        for event in events:
            assert all(e.status == "applied" for e in unit.effects.for_subject(event.id))
