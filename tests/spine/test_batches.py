"""Events processed in batches (one RQ job, waves of one transaction each) end exactly as if they had
been processed one by one: a conversation's second message joins the case its first one opened and
goes into that case's thread; one bad event cannot hold back the rest of its batch."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot.pipeline
from bot.events import Event
from bot.ingest import Ingestor
from bot.platforms.console.chat import read_channel
from bot.queue import EVENT_BATCH_MAX, JobQueue, run_worker
from bot.runtime import Runtime
from bot.store import writer_lock
from bot.store.models import EventRow
from bot.store.writer_lock import WriterLock, WriterLockTimeout


def event(external_id: str, text: str, author: str, **extra: object) -> Event:
    return Event.model_validate(
        {
            "source": "google-reviews",
            "kind": "review",
            "external_id": external_id,
            "text": text,
            "author": {"id": author, "name": author.title()},
            **extra,
        }
    )


def test_a_batch_keeps_a_conversation_in_order(runtime: Runtime) -> None:
    opening = event("r-1", "Colis arrivé cassé, je veux être remboursé", "marie", rating=1)
    bystander = event("r-2", "Trop belle la nouvelle collection, bravo !", "paul", rating=5)
    follow_up = event("r-3", "Toujours rien reçu pour mon colis cassé, remboursez-moi", "marie", rating=1)
    Ingestor(runtime.store, runtime.queue).ingest_many([opening, bystander, follow_up])
    # One job carries all three.
    (job,) = runtime.queue.events.get_jobs()
    assert job.args[0] == [opening.id, bystander.id, follow_up.id]

    run_worker(runtime.redis.client, burst=True, with_scheduler=False)

    with runtime.store.unit() as unit:
        rows = {e.id: unit.events.get(e.id) for e in (opening, bystander, follow_up)}
    assert {row.status for row in rows.values() if row} == {"processed"}
    first, second = rows[opening.id], rows[follow_up.id]
    assert first is not None and second is not None
    # The follow-up joined the case its conversation's first message opened in the same batch...
    assert first.case_id is not None and second.case_id == first.case_id
    posts = read_channel(runtime.store, "after-sales")
    roots = [(message_id, card) for message_id, thread, card in posts if thread is None]
    replies = {card.footer: thread for _message_id, thread, card in posts if thread is not None}
    # ...and its card went into that case's thread, not out as a new top-level card...
    assert len(roots) == 1
    root_id, root_card = roots[0]
    assert replies[follow_up.id] == str(root_id)
    # ...and the case card was re-rendered in place for the follow-up (revision 2), in the same run.
    assert root_card.footer == f"case:{first.case_id} · rev 2"


def test_waves_follow_conversations_and_authors() -> None:
    def row(event_id: str, author: str, conversation: str) -> EventRow:
        return EventRow(id=event_id, source="s", author_id=author, conversation_key=conversation)

    rows = [
        row("1", "a", "c1"),
        row("2", "b", "c2"),
        row("3", "a", "c3"),  # same author as 1
        row("4", "c", "c2"),  # same conversation as 2
        row("5", "d", "c5"),
        row("6", "a", "c6"),  # a third time
    ]
    waves = bot.pipeline.waves(rows)
    assert [[r.id for r in wave] for wave in waves] == [["1", "2", "5"], ["3", "4"], ["6"]]


def test_a_failing_event_is_split_off_its_batch(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    events = [event(f"p-{n}", f"Merci pour la commande {n}", f"author-{n}", rating=5) for n in range(6)]
    poison = events[3]
    real_plan = bot.pipeline.plan

    def plan(situation: bot.pipeline.Situation) -> list[bot.pipeline.Effect]:
        if situation.event.id == poison.id:
            raise RuntimeError("handler bug")
        return real_plan(situation)

    monkeypatch.setattr(bot.pipeline, "plan", plan)
    Ingestor(runtime.store, runtime.queue).ingest_many(events)
    run_worker(runtime.redis.client, burst=True, with_scheduler=False)

    with runtime.store.unit() as unit:
        statuses = {e.id: unit.events.get(e.id) for e in events}
    for e in events:
        row = statuses[e.id]
        assert row is not None
        if e.id == poison.id:
            # On its own now, as attempt 1, failed once and waiting for RQ's retry.
            assert (row.status, row.attempts, row.job_id) == ("queued", 1, JobQueue.event_job_id(e.id, 1))
        else:
            assert row.status == "processed", e.id
    retry = runtime.queue.events.scheduled_job_registry.get_job_ids()
    assert retry == [JobQueue.event_job_id(poison.id, 1)]


def test_large_ingests_are_cut_into_jobs_of_at_most_the_batch_size(runtime: Runtime) -> None:
    count = EVENT_BATCH_MAX * 2 + 3
    events = [event(f"b-{n}", "Love it! Will buy again.", f"buyer-{n}") for n in range(count)]
    Ingestor(runtime.store, runtime.queue).ingest_many(events)
    sizes = sorted(len(job.args[0]) for job in runtime.queue.events.get_jobs())
    assert sizes == [3, EVENT_BATCH_MAX, EVENT_BATCH_MAX]


def _hold(path: str, seconds: float, ready: object) -> None:
    lock = WriterLock(Path(path))
    with lock.held():
        ready.set()  # type: ignore[attr-defined]
        time.sleep(seconds)


def test_the_writer_lock_serialises_processes_and_nests_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vigie.db-writer.lock"
    ready = multiprocessing.get_context("spawn").Event()
    holder = multiprocessing.get_context("spawn").Process(target=_hold, args=(str(path), 1.0, ready))
    holder.start()
    try:
        assert ready.wait(20)
        lock = WriterLock(path)
        started = time.monotonic()
        with lock.held(), lock.held():  # nested in one thread: no wait on itself
            waited = time.monotonic() - started
        assert waited > 0.5  # it waited for the other process to let go
        # A lock held past the timeout is an error naming the file, not an endless wait.
        monkeypatch.setattr(writer_lock, "TIMEOUT_SECONDS", 0.2)
        other = multiprocessing.get_context("spawn").Event()
        second = multiprocessing.get_context("spawn").Process(target=_hold, args=(str(path), 2.0, other))
        second.start()
        try:
            assert other.wait(20)
            with pytest.raises(WriterLockTimeout, match=r"writer\.lock"), lock.held():
                pass
        finally:
            second.join(10)
    finally:
        holder.join(10)


def test_batches_record_when_the_effects_were_applied(runtime: Runtime) -> None:
    events = [event(f"t-{n}", "Do you ship to Canada?", f"asker-{n}") for n in range(5)]
    before = datetime.now(UTC)
    Ingestor(runtime.store, runtime.queue).ingest_many(events)
    run_worker(runtime.redis.client, burst=True, with_scheduler=False)
    with runtime.store.unit() as unit:
        for e in events:
            effects = unit.effects.for_subject(e.id)
            assert effects and all(x.status == "applied" for x in effects)
            assert all(x.applied_at is not None and x.applied_at >= before for x in effects)
            assert all(x.result and "message_id" in x.result for x in effects if x.kind == "post_card")


def test_processed_events_leave_no_crisis_markers_behind(runtime: Runtime) -> None:
    from bot.store.crisis_state import SEEN_PREFIX

    events = [event(f"m-{n}", "Nul, colis jamais reçu, arnaque", f"angry-{n}", rating=1) for n in range(8)]
    Ingestor(runtime.store, runtime.queue).ingest_many(events)
    run_worker(runtime.redis.client, burst=True, with_scheduler=False)
    with runtime.store.unit() as unit:
        assert unit.events.status_counts() == {"processed": len(events)}
    # The markers keep observation once per event while it is in flight; once processed, Redis
    # keeps nothing per event for crisis detection (only the per-scope states).
    client = runtime.redis.client
    assert list(client.scan_iter(match=SEEN_PREFIX + "*")) == []
    assert list(client.scan_iter(match="vigie:crisis:scope:*"))


def test_a_re_run_finishes_the_case_effects_its_first_run_left(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    opening = event("c-1", "Colis arrivé cassé, je veux être remboursé", "lea", rating=1)
    follow_up = event("c-2", "Toujours rien reçu pour mon colis cassé, remboursez-moi", "lea", rating=1)
    ingest = Ingestor(runtime.store, runtime.queue)
    ingest(opening)
    assert bot.pipeline.process_event(runtime, opening.id, "worker-a") == "processed"
    ingest(follow_up)

    real_apply = bot.pipeline.apply_effects

    def dies_after_commit(*args: object, **kwargs: object) -> dict[str, str]:
        raise RuntimeError("killed between the commit and the platform calls")

    monkeypatch.setattr(bot.pipeline, "apply_effects", dies_after_commit)
    with pytest.raises(RuntimeError):
        bot.pipeline.process_event(runtime, follow_up.id, "worker-a")
    with runtime.store.unit() as unit:
        row = unit.events.get(follow_up.id)
        assert row is not None and row.case_id is not None and row.status != "processed"
        case_id = row.case_id
        assert [e.kind for e in unit.effects.unfinished(f"case:{case_id}")] == ["update_card"]

    monkeypatch.setattr(bot.pipeline, "apply_effects", real_apply)
    assert bot.pipeline.process_event(runtime, follow_up.id, "worker-a") == "processed"
    with runtime.store.unit() as unit:
        assert unit.effects.unfinished(f"case:{case_id}") == []
    roots = [card for _id, thread, card in read_channel(runtime.store, "after-sales") if thread is None]
    assert [card.footer for card in roots] == [f"case:{case_id} · rev 2"]
