"""Timers on a real Redis and a real store: routing's timers reach RQ's scheduled registry once the
worker's transaction commits (never if it rolls back), a rescheduled timer replaces the earlier one
(also one scheduled before the key index existed), a due timer runs through RQ's scheduler and the
worker, and a timer job that reschedules its own key keeps its next run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from rq.job import Job, JobStatus

import bot.jobs
from bot.casework import wiring
from bot.queue import JobQueue, run_worker
from tests.casework.support import Harness, complaint, routed

KEY = "case-7-first_response-breach-1"


def scheduled(queue: JobQueue) -> dict[str, float]:
    """Job id → run time (epoch seconds) of every job in the timers queue's scheduled registry."""
    registry = queue.timers.scheduled_job_registry
    return {
        job_id.decode(): score for job_id, score in queue.client.zrange(registry.key, 0, -1, withscores=True)
    }


def timer_args(queue: JobQueue, job_id: str) -> tuple[Any, ...]:
    return tuple(Job.fetch(job_id, connection=queue.client).args)


def test_routing_schedules_its_timers_once_the_transaction_commits(
    h: Harness, redis_client: redis.Redis
) -> None:
    queue = JobQueue(redis_client)
    event = h.store_event(complaint())
    with h.store.unit() as unit:
        case, created = wiring.open_or_attach(
            unit, event, routed(event), h.workspace, h.clock.now, scheduler=queue
        )
        assert case is not None and created
        assert scheduled(queue) == {}  # nothing reaches Redis while the transaction is open
        case_id = case.id
    jobs = scheduled(queue)
    tasks = sorted(timer_args(queue, job_id)[0] for job_id in jobs)
    assert "sla_breach" in tasks and "sla_warn" in tasks
    breach = redis_client.get(f"{JobQueue.TIMER_INDEX}case-{case_id}-first_response-breach-1")
    assert breach is not None and breach.decode() in jobs


def test_a_rolled_back_routing_schedules_nothing(h: Harness, redis_client: redis.Redis) -> None:
    queue = JobQueue(redis_client)
    event = h.store_event(complaint())
    with pytest.raises(RuntimeError), h.store.unit() as unit:
        wiring.open_or_attach(unit, event, routed(event), h.workspace, h.clock.now, scheduler=queue)
        raise RuntimeError("the job fails after routing")
    assert scheduled(queue) == {}
    with h.store.unit() as unit:  # the same store session machinery, committed this time
        wiring.open_or_attach(unit, event, routed(event), h.workspace, h.clock.now, scheduler=queue)
    assert scheduled(queue) != {}


def test_a_rescheduled_timer_replaces_the_earlier_one(redis_client: redis.Redis) -> None:
    queue = JobQueue(redis_client)
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    queue.schedule(KEY, at, "sla_breach", {"case_id": 7, "seq": 1})
    [first] = scheduled(queue)
    queue.schedule(KEY, at + timedelta(minutes=30), "sla_breach", {"case_id": 7, "seq": 2})
    jobs = scheduled(queue)
    [second] = jobs
    assert second != first
    assert jobs[second] == (at + timedelta(minutes=30)).timestamp()
    assert timer_args(queue, second) == ("sla_breach", {"case_id": 7, "seq": 2})
    assert redis_client.ttl(Job.key_for(first)) > 0  # the replaced job's hash is left to expire

    queue.schedule(KEY, at + timedelta(minutes=30), "sla_breach", {"case_id": 7, "seq": 2})
    assert list(scheduled(queue)) == [second]  # the same timer again: the same job, rewritten
    assert redis_client.ttl(Job.key_for(second)) == -1

    # Several requests for one key in one batch: the last one wins.
    queue.apply_timers([(KEY, at, "sla_warn", {"case_id": 7}), (KEY, None, "", {})])
    assert scheduled(queue) == {}
    assert redis_client.get(f"{JobQueue.TIMER_INDEX}{KEY}") is None


def test_a_timer_scheduled_before_the_key_index_is_replaced(redis_client: redis.Redis) -> None:
    queue = JobQueue(redis_client)
    at = datetime.now(UTC) + timedelta(hours=1)
    # What `schedule` wrote before: the job id was the key's.
    queue.timers.enqueue_at(at, "bot.jobs.run_timer", "sla_breach", {"case_id": 7}, job_id=f"timer-{KEY}")
    queue.schedule(KEY, at + timedelta(minutes=5), "sla_breach", {"case_id": 7, "seq": 2})
    [job_id] = scheduled(queue)
    assert job_id != f"timer-{KEY}"


def test_a_due_timer_runs_through_rq_scheduler_and_a_worker(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[tuple[str, dict[str, Any]]] = []

    def run_timer(task: str, args: dict[str, Any]) -> str:
        ran.append((task, args))
        return task

    monkeypatch.setattr(bot.jobs, "run_timer", run_timer)
    queue = JobQueue(redis_client)
    now = datetime.now(UTC)
    queue.schedule(KEY, now - timedelta(seconds=1), "sla_breach", {"case_id": 7, "seq": 1})
    queue.schedule("case-7-resolution-breach-1", now + timedelta(hours=1), "sla_breach", {"case_id": 7})
    # A burst worker runs RQ's scheduler once (due jobs → the queue), then works the queues.
    run_worker(redis_client, burst=True, with_scheduler=True)
    assert ran == [("sla_breach", {"case_id": 7, "seq": 1})]
    assert len(scheduled(queue)) == 1  # the later one waits for its time


def test_a_timer_job_that_reschedules_its_own_key_keeps_its_next_run(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Digests, retention and crisis steps schedule their next run from inside the running job. When
    the job id was the key's, RQ then marked the new job finished, restored the old arguments and let
    it expire after 5 minutes: the next run never came."""
    queue = JobQueue(redis_client)
    later = datetime.now(UTC) + timedelta(days=1)

    def run_timer(task: str, args: dict[str, Any]) -> str:
        JobQueue(redis_client).schedule("retention", later, "retention", {"run": 2})
        return task

    monkeypatch.setattr(bot.jobs, "run_timer", run_timer)
    queue.schedule("retention", datetime.now(UTC) - timedelta(seconds=1), "retention", {"run": 1})
    run_worker(redis_client, burst=True, with_scheduler=True)
    [job_id] = scheduled(queue)
    job = Job.fetch(job_id, connection=redis_client)
    assert tuple(job.args) == ("retention", {"run": 2})
    assert job.get_status() == JobStatus.SCHEDULED
    assert redis_client.ttl(job.key) == -1


def test_a_savepoint_does_not_release_the_timers_early(h: Harness, redis_client: redis.Redis) -> None:
    queue = JobQueue(redis_client)
    at = datetime.now(UTC) + timedelta(hours=1)
    with h.store.unit() as unit:
        queue.timers_at_commit(unit.session, [(KEY, at, "sla_breach", {"case_id": 7})])
        with unit.session.begin_nested():
            pass
        assert scheduled(queue) == {}
    assert len(scheduled(queue)) == 1


def test_redis_failing_at_the_commit_rolls_the_transaction_back(h: Harness) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from bot.store.models import ConsoleMessage

    down = redis.Redis(unix_socket_path="/nonexistent/redis.sock", retry=Retry(NoBackoff(), 0))
    queue = JobQueue(down)
    with pytest.raises(redis.RedisError), h.store.unit() as unit:
        unit.session.add(ConsoleMessage(channel="c", card={}, posted_at=datetime.now(UTC)))
        queue.timers_at_commit(unit.session, [(KEY, datetime.now(UTC), "sla_breach", {"case_id": 7})])
    # Nothing committed without its timers: the job fails, and its retry routes again.
    with h.store.unit() as unit:
        assert unit.session.query(ConsoleMessage).count() == 0
