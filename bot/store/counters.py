"""Redis implementations of the rulebook's counters: sliding windows for `rate:` conditions, the
per-rule statistics sink, and the reload generation that `vigie rules reload` bumps.

bot/rulebook defines the protocols (WindowCounter, StatsSink) and never imports redis.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import redis

from bot.rulebook.stats import RuleCounters

RATE_PREFIX = "vigie:rate:"
STATS_PREFIX = "vigie:rules:stats:"
STATS_INDEX = "vigie:rules:stats"
GENERATION_KEY = "vigie:rules:generation"

# Add this event, drop those older than the window, count, and let the key expire with its window;
# one script, so concurrent workers never count an event twice or miss one.
_HIT = """
local key, now_ms, window_ms, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
redis.call('ZADD', key, now_ms, member)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now_ms - window_ms)
redis.call('PEXPIRE', key, window_ms + 1000)
return redis.call('ZCARD', key)
"""


class RedisWindowCounter:
    """`WindowCounter` shared by every worker: one sorted set per key, scored by time."""

    def __init__(self, client: redis.Redis, prefix: str = RATE_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_HIT)
        self._ids = itertools.count()
        self._process = uuid.uuid4().hex[:8]

    def hit(self, key: str, window_s: float, now: datetime) -> int:
        now_ms = int(now.timestamp() * 1000)
        member = f"{now_ms}:{self._process}:{next(self._ids)}"
        try:
            return int(self._script(keys=[self.prefix + key], args=[now_ms, int(window_s * 1000), member]))
        except redis.RedisError as exc:
            raise ConnectionError(f"Redis window counter: {exc}") from exc


_FIELDS = ("evaluations", "hits", "actions", "overrides", "sampled", "sampled_ns")


class RedisStatsSink:
    """`StatsSink` as one hash per rule, plus a set naming the rules that have one."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> RedisStatsSink:
        return cls(redis.Redis.from_url(url))

    def add(self, counters: Mapping[str, RuleCounters]) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            for rule_id, values in counters.items():
                pipe.sadd(STATS_INDEX, rule_id)
                for name in _FIELDS:
                    amount = getattr(values, name)
                    if amount:
                        pipe.hincrby(STATS_PREFIX + rule_id, name, amount)
            pipe.execute()
        except redis.RedisError as exc:
            raise ConnectionError(f"Redis stats: {exc}") from exc

    def record_override(self, rule_id: str) -> None:
        self.add({rule_id: RuleCounters(overrides=1)})

    def read(self) -> dict[str, RuleCounters]:
        try:
            rules = sorted(
                r.decode() if isinstance(r, bytes) else str(r) for r in self.client.smembers(STATS_INDEX)
            )
            pipe = self.client.pipeline(transaction=False)
            for rule_id in rules:
                pipe.hgetall(STATS_PREFIX + rule_id)
            rows: list[dict[Any, Any]] = pipe.execute()
        except redis.RedisError as exc:
            raise ConnectionError(f"Redis stats: {exc}") from exc
        out: dict[str, RuleCounters] = {}
        for rule_id, row in zip(rules, rows, strict=True):
            values = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in row.items()}
            out[rule_id] = RuleCounters(**{name: values.get(name, 0) for name in _FIELDS})
        return out


def bump_generation(url_or_client: str | redis.Redis) -> int:
    """Tell every worker watching `GENERATION_KEY` to reload its rulebook."""
    client = redis.Redis.from_url(url_or_client) if isinstance(url_or_client, str) else url_or_client
    try:
        return int(client.incr(GENERATION_KEY))
    except redis.RedisError as exc:
        raise ConnectionError(f"Redis: {exc}") from exc


def generation_reader(client: redis.Redis) -> Any:
    """A zero-argument callable for `RulebookHolder(generation=...)`; 0 when Redis cannot answer,
    so a Redis outage never forces a reload nor stops the bot."""

    def read() -> int:
        try:
            value = client.get(GENERATION_KEY)
        except redis.RedisError:
            return 0
        return int(value) if value else 0

    return read


def default_client() -> redis.Redis | None:
    url = os.environ.get("VIGIE_REDIS_URL")
    return redis.Redis.from_url(url) if url else None
