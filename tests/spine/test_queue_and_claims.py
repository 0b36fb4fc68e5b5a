"""Queue recovery and effect claims on real Redis and a real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from bot.events import Effect
from bot.queue import JobQueue
from bot.store.unit import Store


def test_overdue_scheduled_jobs_are_promoted_once(redis_client: redis.Redis) -> None:
    queue = JobQueue(redis_client)
    past = datetime.now(UTC) - timedelta(seconds=30)
    queue.schedule("sla:1", past, "sla_warn", {"case_id": 1})
    queue.schedule("sla:2", datetime.now(UTC) + timedelta(hours=1), "sla_warn", {"case_id": 2})
    assert queue.timers.count == 0
    assert queue.promote_overdue(grace_seconds=10) == 1
    assert queue.promote_overdue(grace_seconds=10) == 0
    assert queue.timers.count == 1
    assert queue.timers.scheduled_job_registry.count == 1  # the future one stays scheduled


def test_rescheduling_a_timer_replaces_it(redis_client: redis.Redis) -> None:
    queue = JobQueue(redis_client)
    later = datetime.now(UTC) + timedelta(hours=1)
    queue.schedule("sla:7", later, "sla_warn", {"case_id": 7})
    queue.schedule("sla:7", later + timedelta(hours=1), "sla_warn", {"case_id": 7})
    assert queue.timers.scheduled_job_registry.count == 1
    queue.cancel("sla:7")
    assert queue.timers.scheduled_job_registry.count == 0


def effect(n: int) -> Effect:
    return Effect(kind="post_card", subject=f"ev-{n}", name="console:inbox", params={"n": n})


def test_a_live_claim_is_busy_and_a_dead_one_is_taken_over(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    now = datetime.now(UTC)
    with store.unit() as unit:
        assert unit.effects.claim([effect(1)], "worker-a", now=now) == {"ev-1:post_card:console:inbox": "run"}
    with store.unit() as unit:
        outcome = unit.effects.claim(
            [effect(1)], "worker-b", now=now + timedelta(seconds=20), alive=lambda _: True
        )
        assert outcome == {"ev-1:post_card:console:inbox": "busy"}
    with store.unit() as unit:
        # worker-a's liveness key is gone: its claim is taken over after the grace period
        outcome = unit.effects.claim(
            [effect(1)], "worker-b", now=now + timedelta(seconds=20), alive=lambda _: False
        )
        assert outcome == {"ev-1:post_card:console:inbox": "run"}
    with store.unit() as unit:
        unit.effects.applied("ev-1:post_card:console:inbox", {"message_id": "1"})
    with store.unit() as unit:
        assert unit.effects.claim([effect(1)], "worker-c") == {"ev-1:post_card:console:inbox": "done"}
        row = unit.effects.get("ev-1:post_card:console:inbox")
        assert row is not None and row.attempts == 2
    store.dispose()


def test_audit_log_refuses_updates_and_deletes(database_url: str) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    store = Store(database_url)
    with store.unit() as unit:
        unit.audit(actor="camille", door="cli", action="case.take", subject="case:1")
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), store.unit() as unit:
            unit.session.execute(text(statement))
    with store.unit() as unit:
        assert unit.session.execute(text("SELECT actor FROM audit_log")).scalar_one() == "camille"
    store.dispose()
