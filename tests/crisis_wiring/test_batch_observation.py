"""Observing events in batches (`observe_events`): the same detector state, signals and incidents as
one by one, nothing twice when a batch runs again, and each event counted once when workers observe
overlapping batches at the same time. Real Redis, real store."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import select
from sqlalchemy import text as sql

from bot import crisis_service
from bot.crisis.signals import ScopeState, SignalEngine, facts_from_verdict
from bot.crisis_service import Observation, crisis_wiring, observe_event, observe_events
from bot.events import Author, Event, Verdict
from bot.runtime import Runtime
from bot.store.base import Base
from bot.store.crisis_state import SCOPE_PREFIX, SEEN_PREFIX, CrisisStateStore
from bot.store.models import EffectRow, IncidentEntryRow, IncidentRow
from tests.crisis_wiring.support import make_event

START = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)  # a Wednesday, far enough in the past
ROOMS = """
version: 1
policies:
  - id: acme
    match: {scopes: ["brand:acme"]}
    room: {per_minute: 3}
    steps:
      - notify: {channels: [crisis], roles: [lead]}
  - id: default
    steps:
      - notify: {channels: [crisis]}
"""


@dataclass(frozen=True)
class Spec:
    at: datetime
    brand: str | None = None
    negative: bool = False
    source: str = "instagram"
    rating: int | None = None
    followers: int | None = None
    crisis: float = 0.0
    labels: tuple[str, ...] = ()


def workload() -> list[tuple[Event, Verdict]]:
    """Two quiet days on two brands, then a negative burst on `self`, review bombing on `acme`, a
    critic with reach, a crisis rule, labelled traffic (some of it late), and a few events twice."""
    sources = ("instagram", "webhook", "trustpilot")
    specs = [
        Spec(START + n * timedelta(minutes=30), brand=(None, "acme")[n % 2], source=sources[n % 3])
        for n in range(96)
    ]
    spike = START + timedelta(hours=48, minutes=7)
    specs += [Spec(spike + n * timedelta(seconds=12), negative=True) for n in range(40)]
    specs += [
        Spec(spike + timedelta(minutes=2, seconds=20 * n), brand="acme", rating=1, source="trustpilot")
        for n in range(10)
    ]
    specs.append(Spec(spike + timedelta(minutes=4), negative=True, followers=250_000))
    specs.append(Spec(spike + timedelta(minutes=5), brand="acme", crisis=2.0, labels=("crisis", "poisoning")))
    specs += [
        Spec(
            spike + timedelta(seconds=(n * 137) % 900),
            brand=(None, "acme")[n % 2],
            negative=n % 3 == 0,
            labels=(("delivery", "billing")[n % 2],),
        )
        for n in range(24)
    ]
    specs.sort(key=lambda s: s.at)
    items = []
    for n, spec in enumerate(specs):
        event = make_event(
            n,
            "x",
            at=spec.at,
            brand=spec.brand,
            source=spec.source,
            kind="review" if spec.rating else "comment",
            rating=spec.rating,
            author=Author(id=f"author-{n}", followers=spec.followers).model_dump(),
        )
        verdict = Verdict(
            event_id=event.id,
            sentiment=-0.7 if spec.negative else 0.3,
            labels=spec.labels,
            crisis_score=spec.crisis,
        )
        items.append((event, verdict))
    return items + items[-3:]  # events seen twice, as a re-run of a job brings them


def snapshot(rt: Runtime) -> dict[str, Any]:
    """Everything observing can change: detector state and markers in Redis, incidents, their
    timelines and the effects (cards, pages, room notes) in the store."""
    client = rt.redis.client
    with rt.store.unit() as unit:
        session = unit.session
        incidents = [
            (
                r.id,
                r.scope,
                r.status,
                r.severity,
                r.score,
                r.data,
                r.revision,
                r.policy_id,
                r.escalation_round,
            )
            for r in session.scalars(select(IncidentRow).order_by(IncidentRow.id))
        ]
        entries = sorted(
            (e.incident_id, e.key, e.kind, e.event_id, e.signal, e.strength, json.dumps(e.detail), e.mirror)
            for e in session.scalars(select(IncidentEntryRow))
        )
        effects = sorted((e.kind, e.key, e.status) for e in session.scalars(select(EffectRow)))
    return {
        "scopes": {k: client.get(k) for k in sorted(client.scan_iter(f"{SCOPE_PREFIX}*"))},
        "markers": {k: client.get(k) for k in sorted(client.scan_iter(f"{SEEN_PREFIX}*"))},
        "incidents": incidents,
        "entries": entries,
        "effects": effects,
    }


def reset(rt: Runtime) -> None:
    """Back to an empty Redis and store (the audit log refuses deletes; nothing reads it here)."""
    rt.redis.client.flushdb()
    with rt.store.unit() as unit:
        tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name != "audit_log"]
        if unit.session.get_bind().dialect.name == "postgresql":
            # Ids restart too (SQLite reuses them after a delete), so posted cards get the same
            # message ids, which are part of the effect keys compared.
            names = ", ".join(f'"{t.name}"' for t in tables)
            unit.session.execute(sql(f"TRUNCATE {names} RESTART IDENTITY"))
        else:
            for table in tables:
                unit.session.execute(table.delete())


def one_by_one_states(rt: Runtime, items: Sequence[tuple[Event, Verdict]]) -> dict[bytes, bytes]:
    """The detector state of observing the items one at a time, each read from and written back to
    JSON as the store did per event before batches: computed here by the pure core alone."""
    wiring = crisis_wiring(rt)
    assert wiring is not None
    engine = SignalEngine(wiring.config.detection)
    stored: dict[str, str] = {}
    seen: set[str] = set()
    for event, verdict in items:
        if event.id in seen:
            continue
        seen.add(event.id)
        facts = facts_from_verdict(
            event, verdict, negative_sentiment=wiring.config.detection.negative_sentiment
        )
        states = {
            s: ScopeState.from_json(stored[s]) if s in stored else ScopeState() for s in engine.scopes(facts)
        }
        _signals, new = engine.observe(facts, states)
        stored.update({scope: state.to_json() for scope, state in new.items()})
    return {(SCOPE_PREFIX + k).encode(): v.encode() for k, v in sorted(stored.items())}


def test_a_batch_gives_the_state_signals_and_incidents_of_one_by_one(
    make_runtime: Callable[..., Runtime],
) -> None:
    rt = make_runtime(ROOMS)
    items = workload()

    single = [observe_events(rt, [item])[0] for item in items]
    expected = snapshot(rt)
    kinds = {s.kind for o in single for s in o.signals}
    assert {"volume_spike", "negative_spike", "rating_burst", "reach", "rule"} <= kinds, kinds
    assert len(expected["incidents"]) == 2 and any(o.incidents for o in single)
    assert expected["scopes"] == one_by_one_states(rt, items)

    for size in (len(items), 7):
        reset(rt)
        batched = [o for i in range(0, len(items), size) for o in observe_events(rt, items[i : i + size])]
        assert batched == single, f"batches of {size}: signals, fresh or incidents differ"
        assert snapshot(rt) == expected, f"batches of {size}: state or incidents differ"


def test_observing_the_same_batch_twice_changes_nothing(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime(ROOMS)
    items = workload()
    first = observe_events(rt, items)
    before = snapshot(rt)
    assert sum(o.fresh for o in first) == len({e.id for e, _v in items})

    again = observe_events(rt, items)
    assert snapshot(rt) == before
    assert not any(o.fresh or o.incidents for o in again)
    assert [o.signals for o in again] == [o.signals for o in first], "the stored signals come back"

    # An overlapping batch counts only what it brings that is new.
    extra = [
        (e, Verdict(event_id=e.id, sentiment=0.3))
        for e in (make_event(9000 + n, "x", at=START + timedelta(hours=50, minutes=n)) for n in range(5))
    ]
    overlap = observe_events(rt, items[-20:] + extra)
    assert [o.fresh for o in overlap] == [False] * 20 + [True] * 5
    observe_event(rt, *extra[0])  # the one-event door of the same path
    assert snapshot(rt)["markers"].keys() == before["markers"].keys() | {
        f"{SEEN_PREFIX}{e.id}".encode() for e, _v in extra
    }


def test_a_batch_creates_one_marker_per_event_that_expires_within_the_hour(
    make_runtime: Callable[..., Runtime],
) -> None:
    rt = make_runtime()
    items = workload()[:60]
    observe_events(rt, items)
    client = rt.redis.client
    keys = {k.decode() for k in client.scan_iter("vigie:crisis:*")}
    markers = {k for k in keys if k.startswith(SEEN_PREFIX)}
    assert markers == {f"{SEEN_PREFIX}{e.id}" for e, _v in items}
    assert all(k.startswith(SCOPE_PREFIX) for k in keys - markers)
    assert all(0 < client.ttl(k) <= 3600 for k in markers)
    assert all(14 * 86400 < client.ttl(k) <= 15 * 86400 for k in keys - markers)


def test_a_batch_survives_a_flushed_script_cache(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    items = workload()[:10]
    observe_events(rt, items[:5])
    rt.redis.client.script_flush()  # a restarted or failed-over Redis has no scripts loaded
    assert all(o.fresh for o in observe_events(rt, items[5:]))


# -- concurrency ---------------------------------------------------------------------------------


def _count(
    name: str, items: Sequence[tuple[str, Sequence[str]]]
) -> Callable[..., tuple[dict[str, str], list[str]]]:
    """A compute that counts events per scope and leaves the worker's name in each marker."""

    def compute(current: Mapping[str, str | None], fresh: Sequence[int]) -> tuple[dict[str, str], list[str]]:
        counts = {scope: int(value or 0) for scope, value in current.items()}
        touched: dict[str, str] = {}
        for index in fresh:
            for scope in items[index][1]:
                counts[scope] += 1
                touched[scope] = str(counts[scope])
        return touched, [name] * len(fresh)

    return compute


def test_a_write_between_read_and_store_makes_the_batch_compute_again(redis_client: redis.Redis) -> None:
    """What the compare-and-set is for: another worker's observation lands between this batch's read
    and its write, once on a scope state, once as the marker of one of the batch's events."""
    store, other = (
        CrisisStateStore(redis_client),
        CrisisStateStore(redis.Redis(connection_pool=redis_client.connection_pool)),
    )
    batch = [("e1", ["brand:x"]), ("e2", ["brand:x", "source:a"]), ("e3", ["brand:x"])]
    rounds = []

    def meddle(current: Mapping[str, str | None], fresh: Sequence[int]) -> tuple[dict[str, str], list[str]]:
        rounds.append(list(fresh))
        if len(rounds) == 1:
            other.observe_many([("z1", ["brand:x"])], _count("other", [("z1", ["brand:x"])]))
        elif len(rounds) == 2:
            other.observe_many([("e2", ["brand:x", "source:a"])], _count("other", batch[1:2]))
        return _count("mine", batch)(current, fresh)

    results = store.observe_many(batch, meddle)
    assert rounds == [[0, 1, 2], [0, 1, 2], [0, 2]]
    assert results == [("mine", True), ("other", False), ("mine", True)]
    assert store.load(["brand:x", "source:a"]) == {"brand:x": "4", "source:a": "1"}


def _observe_worker(url: str, name: str, batches: list[list[int]], barrier: Any, out: Any) -> None:
    client = redis.Redis.from_url(url)
    store = CrisisStateStore(client)
    barrier.wait()
    counted = []
    for batch in batches:
        items = [(f"ev-{n}", ["brand:x", f"source:s{n % 3}"]) for n in batch]
        results = store.observe_many(items, _count(name, items))
        counted += [items[i][0] for i, (_result, fresh) in enumerate(results) if fresh]
    out.put((name, counted))
    client.close()


def test_processes_observing_overlapping_batches_count_each_event_once(
    redis_url: str, redis_client: redis.Redis
) -> None:
    events = 600
    windows = [list(range(start, min(start + 30, events))) for start in range(0, events, 10)]
    plans = {
        "w0": windows,
        "w1": windows[::-1],
        "w2": windows[len(windows) // 2 :] + windows[: len(windows) // 2],
    }
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(len(plans)), context.Queue()
    workers = [
        context.Process(target=_observe_worker, args=(redis_url, n, p, barrier, out))
        for n, p in plans.items()
    ]
    for worker in workers:
        worker.start()
    counted = dict(out.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    every = [f"ev-{n}" for n in range(events)]
    assert sorted(e for ids in counted.values() for e in ids) == sorted(every), "each event counted once"
    store = CrisisStateStore(redis_client)
    assert store.load(["brand:x", "source:s0", "source:s1", "source:s2"]) == {
        "brand:x": str(events),
        "source:s0": "200",
        "source:s1": "200",
        "source:s2": "200",
    }
    markers = redis_client.mget([SEEN_PREFIX + e for e in every])
    names = [m.decode() if isinstance(m, bytes) else m for m in markers]
    assert all(name is not None and e in counted[name] for e, name in zip(every, names, strict=True))


def test_threads_observing_overlapping_batches_of_events_count_each_once(
    make_runtime: Callable[..., Runtime],
) -> None:
    """The real detector: whatever the interleaving, every event is in the volume count once."""
    rt = make_runtime()
    at = START + timedelta(minutes=1)
    items = [
        (e, Verdict(event_id=e.id, sentiment=-0.7 if n % 4 == 0 else 0.3))
        for n, e in enumerate(make_event(n, "x", at=at + timedelta(seconds=n)) for n in range(200))
    ]
    windows = [items[start : start + 25] for start in range(0, len(items), 10)]
    plans = [windows, windows[::-1], windows[5:] + windows[:5]]
    fresh: list[list[Observation]] = [[] for _ in plans]
    barrier = threading.Barrier(len(plans))

    def work(index: int) -> None:
        barrier.wait()
        for window in plans[index]:
            fresh[index] += [o for o in observe_events(rt, window) if o.fresh]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(o.event_id for done in fresh for o in done) == sorted(e.id for e, _v in items)
    raw = CrisisStateStore(rt.redis.client).load(["brand:self", "source:instagram"])
    for scope, text in raw.items():
        assert text is not None, scope
        state = ScopeState.from_json(text)
        assert (state.volume.count, state.negative.count) == (200.0, 50.0), scope


def test_a_batch_whose_decisions_failed_midway_is_finished_by_the_next_run(
    make_runtime: Callable[..., Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = make_runtime(ROOMS)
    items = workload()
    observe_events(rt, items)
    expected = snapshot(rt)
    reset(rt)

    real = crisis_service.process_signals
    calls = 0

    def failing(*args: Any, **kwargs: Any) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise ConnectionError("the store went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(crisis_service, "process_signals", failing)
    with pytest.raises(ConnectionError):
        observe_events(rt, items)
    monkeypatch.setattr(crisis_service, "process_signals", real)
    again = observe_events(rt, items)
    assert not any(o.fresh for o in again), "observed once, by the failed run"
    assert snapshot(rt) == expected, "the second run made the decisions the first one did not"


def test_ordinary_traffic_costs_two_redis_round_trips_a_batch(
    make_runtime: Callable[..., Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No signal, no live incident, a quarter negative: read once, write once, whatever the size."""
    rt = make_runtime()
    items = [
        (
            e,
            Verdict(
                event_id=e.id, sentiment=-0.7 if n % 4 == 0 else 0.3, labels=("delivery",) * (n % 5 == 0)
            ),
        )
        for n, e in enumerate(
            make_event(n, "x", at=START + timedelta(seconds=n), brand=(None, "acme")[n % 2])
            for n in range(50)
        )
    ]
    observe_events(rt, items[:1])  # the script is loaded once per server
    sent = 0
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(self: redis.connection.AbstractConnection, command: Any, check_health: bool = True) -> None:
        nonlocal sent
        sent += 1
        send(self, command, check_health)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    observed = observe_events(rt, items[1:])
    assert all(o.fresh and not o.signals for o in observed)
    assert sent == 2
