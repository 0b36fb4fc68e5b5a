"""Crisis detector state in Redis, shared by every worker: one JSON value per scope (brand, source,
topic label), and a marker per event so a job that runs again does not count its event twice.

A batch of events is observed in two round trips: one MGET of its markers and scope states, then
one Lua script that writes the new states and the markers only if no marker appeared and no state
changed since the read (a compare-and-set, atomic in Redis: what WATCH/MULTI gave per event), else
the batch is read and computed again. Two workers observing events of one scope never lose an
update, and an event in two overlapping batches is counted by one of them only.

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
# pipeline does not observe an event already processed, and deletes the markers of the events it has
# just marked processed (`forget`). One hour bounds what a crash in between leaves behind.
SEEN_TTL = timedelta(hours=1)
# Optimistic retries: a conflict means another worker wrote the same scope meanwhile; bursts of a few
# workers on one brand settle in a handful of rounds.
MAX_ATTEMPTS = 100
# Deciding on incidents is short (a few SQL statements); a dead holder's lock frees itself after this.
LOCK_TIMEOUT = 30.0

Compute = Callable[[Mapping[str, str | None]], tuple[Mapping[str, str], str]]
BatchCompute = Callable[[Mapping[str, str | None], Sequence[int]], tuple[Mapping[str, str], Sequence[str]]]

# Compare-and-set of a batch, atomic in Redis: the markers of the events to observe must still be
# absent and each scope to write must still hold the state the new one was computed from (absent
# reads as ""); then every state and marker is written with its TTL. 1: written; 0: read again.
# KEYS: markers (ARGV[1] of them), then scope keys. ARGV: marker count, marker TTL, scope TTL, then
# (expected, new) per scope key, then one marker value per marker.
_WRITE_SCRIPT = """
local markers = tonumber(ARGV[1])
for i = 1, markers do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
local scopes = #KEYS - markers
for j = 1, scopes do
  if (redis.call('GET', KEYS[markers + j]) or '') ~= ARGV[2 + 2 * j] then return 0 end
end
for j = 1, scopes do
  redis.call('SET', KEYS[markers + j], ARGV[3 + 2 * j], 'EX', ARGV[3])
end
for i = 1, markers do
  redis.call('SET', KEYS[i], ARGV[3 + 2 * scopes + i], 'EX', ARGV[2])
end
return 1
"""


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
        self._write = client.register_script(_WRITE_SCRIPT)

    def observe_once(self, event_id: str, scopes: Sequence[str], compute: Compute) -> tuple[str, bool]:
        """Run `compute(current states)` for an event not seen before and store what it returns (new
        states, and a result kept in the event's marker) in one transaction. For an event already
        seen, return its stored result without computing: `(result, fresh)`. The one-event case of
        `observe_many`."""

        def one(
            current: Mapping[str, str | None], fresh: Sequence[int]
        ) -> tuple[Mapping[str, str], list[str]]:
            states, result = compute({scope: current.get(scope) for scope in scopes})
            return states, [result]

        return self.observe_many([(event_id, scopes)], one)[0]

    def observe_many(
        self, items: Sequence[tuple[str, Sequence[str]]], compute: BatchCompute
    ) -> list[tuple[str, bool]]:
        """`observe_once` for a batch of `(event id, scopes)`, in two round trips when no other worker
        writes the same scopes meanwhile: one MGET of the batch's markers and scope states, then one
        script that stores the new states and the markers if, and only if, no marker appeared and no
        state changed since the read (else read again and recompute: optimistic, like WATCH/MULTI).

        `compute(current states, fresh)` gets the states of every scope of the batch and the positions
        in `items` of the events to observe (not seen before, first occurrence only, in order); it
        returns the new states of the scopes it changed (among those of the fresh events) and one
        result per fresh event. Returns `(result, fresh)` per item, in order: an event seen before (or
        earlier in the batch) gets its stored result, with `fresh` False."""
        if not items:
            return []
        first: dict[str, int] = {}
        for index, (event_id, _scopes) in enumerate(items):
            first.setdefault(event_id, index)
        ids = list(first)
        scopes = list(dict.fromkeys(scope for _event, event_scopes in items for scope in event_scopes))
        read = [SEEN_PREFIX + event_id for event_id in ids] + [SCOPE_PREFIX + scope for scope in scopes]
        try:
            for _ in range(self.max_attempts):
                values = self.client.mget(read)
                stored = {event_id: _text(value) for event_id, value in zip(ids, values, strict=False)}
                current = {
                    scope: _text(value) for scope, value in zip(scopes, values[len(ids) :], strict=True)
                }
                fresh = [first[event_id] for event_id in ids if stored[event_id] is None]
                if not fresh:
                    return [(stored[event_id] or "", False) for event_id, _scopes in items]
                states, results = compute(current, fresh)
                if len(results) != len(fresh):
                    raise ValueError(f"{len(results)} results for {len(fresh)} events")
                written = list(states)
                keys = [SEEN_PREFIX + items[index][0] for index in fresh]
                keys += [SCOPE_PREFIX + scope for scope in written]
                args: list[str | int] = [len(fresh), self.seen_ttl, self.scope_ttl]
                for scope in written:
                    args += [current.get(scope) or "", states[scope]]
                args += results
                if self._write(keys=keys, args=args) != 1:
                    continue  # another worker wrote a scope of the batch or observed one of its events
                for index, result in zip(fresh, results, strict=True):
                    stored[items[index][0]] = result
                done = set(fresh)
                return [
                    (stored[event_id] or "", index in done) for index, (event_id, _scopes) in enumerate(items)
                ]
        except redis.RedisError as error:
            raise ConnectionError(f"Redis crisis state: {error}") from error
        raise StateConflict(f"crisis state of {', '.join(scopes)}: {self.max_attempts} conflicting updates")

    def settle(self, results: Mapping[str, str]) -> None:
        """Replace the stored results of events observed before (one round trip for all), keeping
        their markers' expiry; an expired marker is not recreated."""
        if not results:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for event_id, result in results.items():
                    pipe.set(SEEN_PREFIX + event_id, result, xx=True, keepttl=True)
                pipe.execute()
        except redis.RedisError as error:
            raise ConnectionError(f"Redis crisis state: {error}") from error

    def forget(self, event_ids: Sequence[str]) -> None:
        """Drop the markers of events now marked processed (one round trip): the pipeline never
        observes a processed event again, so markers need only cover events in flight, and Redis
        holds about a queue's worth of them instead of SEEN_TTL of traffic."""
        if event_ids:
            try:
                self.client.delete(*(SEEN_PREFIX + event_id for event_id in event_ids))
            except redis.RedisError as error:
                raise ConnectionError(f"Redis crisis state: {error}") from error

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
