"""Crisis detector state in Redis, shared by every worker: one JSON value per scope (brand, source,
topic label), updated with WATCH/MULTI so two workers observing events of one scope never lose an
update, and a marker per event so a job that runs again does not count its event twice.

bot/crisis stays pure: this module stores strings and knows nothing of what they mean."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import timedelta

import redis

SCOPE_PREFIX = "vigie:crisis:scope:"
SEEN_PREFIX = "vigie:crisis:seen:"
LOCK_PREFIX = "vigie:crisis:lock:"
# A scope idle for two weeks (the detector's `max_gap`) has nothing left worth remembering: after
# such a silence the baseline would not be replayed anyway, so the key may expire and relearn.
SCOPE_TTL = timedelta(days=15)
# A marker only has to outlive the job attempts of one event between its observation and its
# `processed` mark (RQ retries over ~6 minutes, rate-limit deferrals, the sweeper's re-enqueue); the
# pipeline does not observe an event already processed. One hour covers that and bounds the markers
# to an hour of traffic (two days of markers grew Redis by ~10k keys a minute at 50 ev/s).
SEEN_TTL = timedelta(hours=1)
# Optimistic retries: a conflict means another worker wrote the same scope meanwhile; bursts of a few
# workers on one brand settle in a handful of rounds.
MAX_ATTEMPTS = 100
# Deciding on incidents is short (a few SQL statements); a dead holder's lock frees itself after this.
LOCK_TIMEOUT = 30.0

Compute = Callable[[Mapping[str, str | None]], tuple[Mapping[str, str], str]]


class StateConflict(Exception):
    """Too many concurrent updates of the same scopes; the job fails and RQ retries it."""


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


class CrisisStateStore:
    def __init__(
        self,
        client: redis.Redis,
        *,
        scope_ttl: timedelta = SCOPE_TTL,
        seen_ttl: timedelta = SEEN_TTL,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.client = client
        self.scope_ttl = int(scope_ttl.total_seconds())
        self.seen_ttl = int(seen_ttl.total_seconds())
        self.max_attempts = max_attempts

    def observe_once(self, event_id: str, scopes: Sequence[str], compute: Compute) -> tuple[str, bool]:
        """Run `compute(current states)` for an event not seen before and store what it returns (new
        states, and a result kept in the event's marker) in one transaction. For an event already
        seen, return its stored result without computing: `(result, fresh)`."""
        seen = SEEN_PREFIX + event_id
        keys = [SCOPE_PREFIX + scope for scope in scopes]
        try:
            with self.client.pipeline() as pipe:
                for _ in range(self.max_attempts):
                    try:
                        pipe.watch(seen, *keys)  # type: ignore[no-untyped-call]
                        stored = _text(pipe.get(seen))
                        if stored is not None:
                            pipe.unwatch()
                            return stored, False
                        values = pipe.mget(keys) if keys else []
                        current = {scope: _text(value) for scope, value in zip(scopes, values, strict=True)}
                        states, result = compute(current)
                        pipe.multi()
                        for scope, state in states.items():
                            pipe.set(SCOPE_PREFIX + scope, state, ex=self.scope_ttl)
                        pipe.set(seen, result, ex=self.seen_ttl)
                        pipe.execute()
                        return result, True
                    except redis.WatchError:
                        continue
        except redis.RedisError as error:
            raise ConnectionError(f"Redis crisis state: {error}") from error
        raise StateConflict(f"crisis state of {', '.join(scopes)}: {self.max_attempts} conflicting updates")

    def load(self, scopes: Sequence[str]) -> dict[str, str | None]:
        """Current states, for inspection (`vigie crisis show`) and tests."""
        if not scopes:
            return {}
        try:
            values = self.client.mget([SCOPE_PREFIX + scope for scope in scopes])
        except redis.RedisError as error:
            raise ConnectionError(f"Redis crisis state: {error}") from error
        return {scope: _text(value) for scope, value in zip(scopes, values, strict=True)}

    def ttl(self, scope: str) -> int:
        """Seconds before an idle scope's state expires (-2: gone)."""
        return int(self.client.ttl(SCOPE_PREFIX + scope))

    @contextmanager
    def lock(self, name: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Serialise deciding on incidents for one scope across workers, so two workers that both see
        a spike open one incident, not two."""
        lock = self.client.lock(LOCK_PREFIX + name, timeout=timeout, blocking_timeout=timeout)
        try:
            acquired = lock.acquire()
        except redis.RedisError as error:
            raise ConnectionError(f"Redis crisis lock: {error}") from error
        if not acquired:
            raise StateConflict(f"crisis lock {name}: not acquired within {timeout:.0f}s")
        try:
            yield
        finally:
            with suppress(redis.RedisError):  # expired meanwhile: nothing of ours left to release
                lock.release()
