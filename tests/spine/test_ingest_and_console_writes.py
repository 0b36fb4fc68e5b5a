"""The ingestor's single storing transaction and the console's multi-row posts, on a real store
(SQLite, and PostgreSQL when configured) and real Redis."""

from __future__ import annotations

import redis
from rq import Queue

from bot.events import Event
from bot.ingest import Ingestor
from bot.platforms.console.chat import ConsoleTeamChat, read_channel
from bot.ports import Card, MessageRef, StoredPost
from bot.queue import EVENTS_QUEUE, JobQueue
from bot.store.unit import Store


def event(n: int) -> Event:
    return Event.model_validate(
        {
            "source": "reviews",
            "kind": "comment",
            "external_id": f"r-{n}",
            "text": f"review {n}",
            "author": {"id": f"a{n}"},
        }
    )


def test_stored_events_name_the_job_that_carries_them(database_url: str, redis_client: redis.Redis) -> None:
    store = Store(database_url)
    ingest = Ingestor(store, JobQueue(redis_client))
    results = ingest.ingest_many([event(1), event(2), event(1), event(3)])
    assert [r.duplicate for r in results] == [False, False, True, False]
    with store.unit() as unit:
        rows = unit.events.get_many([event(n).id for n in (1, 2, 3)])
    jobs = {row.job_id for row in rows.values()}
    assert {row.status for row in rows.values()} == {"queued"}
    assert len(jobs) == 1  # one write, one batch job
    job_id = jobs.pop()
    assert job_id is not None
    queued = Queue(EVENTS_QUEUE, connection=redis_client)
    assert queued.job_ids == [job_id]
    assert queued.fetch_job(job_id).args == ([event(n).id for n in (1, 2, 3)],)  # type: ignore[union-attr]
    # A redelivery stores nothing and enqueues nothing.
    assert ingest.ingest_many([event(2)])[0].duplicate
    assert queued.job_ids == [job_id]
    store.dispose()


class _RedisDown(JobQueue):
    def enqueue_event_jobs(self, jobs: object) -> None:
        raise redis.ConnectionError("Redis is down")


def test_events_whose_job_could_not_be_enqueued_go_back_to_received(
    database_url: str, redis_client: redis.Redis
) -> None:
    store = Store(database_url)
    results = Ingestor(store, _RedisDown(redis_client)).ingest_many([event(4), event(5)])
    assert [r.duplicate for r in results] == [False, False]  # stored: the request is answered
    with store.unit() as unit:
        rows = unit.events.get_many([event(4).id, event(5).id])
    assert {(row.status, row.job_id, row.enqueued_at) for row in rows.values()} == {("received", None, None)}
    store.dispose()


def test_many_posts_in_one_statement_keep_their_order_and_their_keys(database_url: str) -> None:
    store = Store(database_url)
    chat = ConsoleTeamChat(store)
    thread = MessageRef(platform="console", channel="inbox", message_id="1")
    with store.unit() as unit:
        first = chat.post_in(unit, "inbox", Card(title="root"), idempotency_key="k-root")
    posts = [
        StoredPost("inbox", Card(title="a"), None, "k-a"),
        StoredPost("inbox", Card(title="no key 1")),
        StoredPost("inbox", Card(title="root again"), None, "k-root"),  # posted before: same message
        StoredPost("inbox", Card(title="b"), thread, "k-b"),
        StoredPost("inbox", Card(title="no key 2")),
    ]
    with store.unit() as unit:
        refs = chat.post_many_in(unit, posts)
    assert refs[2] == first
    by_id = {
        message_id: (thread_id, card.title) for message_id, thread_id, card in read_channel(store, "inbox")
    }
    assert [by_id[int(ref.message_id)][1] for ref in refs] == ["a", "no key 1", "root", "b", "no key 2"]
    assert by_id[int(refs[3].message_id)][0] == "1" and refs[3].thread_id == "1"
    assert len(by_id) == 5  # the repeated key posted nothing
    with store.unit() as unit:  # the whole call again: every keyed post is found, keyless ones are new
        again = chat.post_many_in(unit, posts)
    assert [again[i] for i in (0, 2, 3)] == [refs[i] for i in (0, 2, 3)]
    assert again[1] != refs[1] and len(read_channel(store, "inbox")) == 7
    store.dispose()
