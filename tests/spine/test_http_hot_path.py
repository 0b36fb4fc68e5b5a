"""The cheap path for `POST /v1/events`: the group-commit batcher (write spacing under load, none
when quiet, persist before ack), the direct route in front of FastAPI's router, the pure ASGI
metrics middleware, one JSON parse per event, and uvicorn's C HTTP parser."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry, Counter, Histogram

from bot.events import Event
from bot.httpserver import ServerThread
from bot.platforms.webhook.api import IngestBatcher
from bot.platforms.webhook.signing import signed_headers
from bot.ports import IngestResult
from bot.web import MeasureMiddleware
from tests.hostile.http_support import SECRET, SOURCE_SECRET, Running, encoded, event, running


def make_event(i: int) -> Event:
    return Event.model_validate(
        {"source": "forms", "kind": "comment", "external_id": f"e-{i}", "text": "hi", "author": {"id": "u"}}
    )


class RecordingWriter:
    """An `ingest_many` that records each write (events and when it started and ended)."""

    def __init__(self, fail: bool = False) -> None:
        self.writes: list[tuple[list[str], float, float]] = []
        self.fail = fail

    def __call__(self, events: list[Event]) -> list[IngestResult]:
        started = time.monotonic()
        time.sleep(0.002)  # a write takes a little while, like a real one
        if self.fail:
            raise ConnectionError("store down")
        self.writes.append(([e.external_id for e in events], started, time.monotonic()))
        return [IngestResult(id=e.id, duplicate=False) for e in events]


async def post_at(
    batcher: IngestBatcher, count: int, every: float
) -> list[tuple[IngestResult, float, float]]:
    """`count` events submitted `every` seconds apart; (result, submitted, answered) for each."""

    async def one(i: int) -> tuple[IngestResult, float, float]:
        await asyncio.sleep(i * every)
        submitted = time.monotonic()
        result = await batcher.submit(make_event(i))
        return result, submitted, time.monotonic()

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def test_a_quiet_server_writes_each_event_at_once() -> None:
    writer = RecordingWriter()
    batcher = IngestBatcher(writer, max_batch=500, spacing=0.2)
    answers = asyncio.run(post_at(batcher, 5, every=0.25))  # slower than two per spacing
    assert [ids for ids, _, _ in writer.writes] == [[f"e-{i}"] for i in range(5)]
    for _result, submitted, answered in answers:
        assert answered - submitted < 0.1  # no spacing wait: ~2 ms of write plus scheduling


def test_under_steady_load_writes_are_spaced_and_carry_several_events() -> None:
    writer = RecordingWriter()
    spacing = 0.03
    batcher = IngestBatcher(writer, max_batch=500, spacing=spacing)
    answers = asyncio.run(post_at(batcher, 120, every=0.002))  # 500 events/s, over 0.24 s
    assert sorted(e for ids, _, _ in writer.writes for e in ids) == sorted(f"e-{i}" for i in range(120))
    assert len(writer.writes) < 60  # one by one would be 120 writes
    # Past the warm-up of the moving average (~20 events), writes start a spacing apart or more.
    warm = answers[40][1]
    starts = [started for _, started, _ in writer.writes if started > warm]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) >= 3 and min(gaps) >= spacing * 0.8
    assert max(len(ids) for ids, _, _ in writer.writes) >= 5
    # Persist before ack, and no event waits much more than one spacing plus a write.
    ended = {e: end for ids, _, end in writer.writes for e in ids}
    for i, (result, submitted, answered) in enumerate(answers):
        assert result.id == make_event(i).id
        assert answered >= ended[f"e-{i}"]
        assert answered - submitted < spacing + 0.15


def test_a_pause_ends_the_waiting() -> None:
    writer = RecordingWriter()
    batcher = IngestBatcher(writer, max_batch=500, spacing=0.2)

    async def scenario() -> float:
        await post_at(batcher, 60, every=0.002)  # busy
        await asyncio.sleep(1.2)  # then quiet
        submitted = time.monotonic()
        await batcher.submit(make_event(1000))
        return time.monotonic() - submitted

    assert asyncio.run(scenario()) < 0.1  # not the 0.2 s of a spaced write
    assert writer.writes[-1][0] == ["e-1000"]


def test_a_failed_write_fails_every_request_it_carried() -> None:
    batcher = IngestBatcher(RecordingWriter(fail=True), max_batch=500, spacing=0.03)

    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(*(batcher.submit(make_event(i)) for i in range(5)), return_exceptions=True)
        )

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert not batcher.pending and not batcher.draining


def test_gap_average_starts_quiet() -> None:
    batcher = IngestBatcher(RecordingWriter(), max_batch=500)
    assert batcher.gap >= batcher.spacing / 2 and batcher.last_write == -math.inf


# ------------------------------------------------------------------------------ over real HTTP


@pytest.fixture
def api(database_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Running]:
    with running(database_url, redis_client, tmp_path) as server:
        yield server


def metric_lines(api: Running, name: str) -> list[str]:
    text = httpx.get(api.base + "/metrics").text
    return [line for line in text.splitlines() if line.startswith(name)]


def test_metrics_count_each_route_and_status_once(api: Running) -> None:
    assert api.post(encoded(event("m-1"))).status_code == 202
    assert api.post(encoded(event("m-2")), secret="wrong").status_code == 401
    assert httpx.get(api.base + "/nowhere").status_code == 404
    assert httpx.get(api.base + "/v1/events").status_code == 405  # not the direct route: the router's
    lines = metric_lines(api, "vigie_http_requests_total")
    assert 'vigie_http_requests_total{route="/v1/events",status="202"} 1.0' in lines
    assert 'vigie_http_requests_total{route="/v1/events",status="401"} 1.0' in lines
    assert 'vigie_http_requests_total{route="/v1/events",status="405"} 1.0' in lines
    assert 'vigie_http_requests_total{route="other",status="404"} 1.0' in lines
    counts = metric_lines(api, 'vigie_http_request_seconds_count{route="/v1/events"}')
    assert counts == ['vigie_http_request_seconds_count{route="/v1/events"} 3.0']
    assert 'vigie_events_ingested_total{result="stored"} 1.0' in metric_lines(api, "vigie_events_ingested")


def test_an_unexpected_error_is_a_500_and_is_counted(api: Running) -> None:
    def broken(_events: list[Event]) -> list[IngestResult]:
        raise RuntimeError("store down")

    webhook = next(m for m in api.app.user_middleware if m.cls.__name__ == "SingleEventRoute")
    webhook.kwargs["api"].batcher.ingest_many = broken
    response = api.post(encoded(event("x-1")))
    assert response.status_code == 500
    assert 'vigie_http_requests_total{route="/v1/events",status="500"} 1.0' in metric_lines(
        api, "vigie_http_requests_total"
    )


def test_the_direct_route_answers_like_the_router(api: Running) -> None:
    body = encoded(event("d-1"))
    first = api.post(body)
    again = api.post(body)
    assert first.status_code == again.status_code == 202
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert first.headers["content-type"] == "application/json"
    # A trailing slash is not the direct route: the router handles it as before (no such route).
    slash = httpx.post(
        api.base + "/v1/events/",
        content=body,
        headers={"Content-Type": "application/json", **signed_headers(SECRET, body)},
    )
    assert slash.status_code in (404, 405, 307)
    assert api.stored() == 1


def test_a_source_signed_body_json_cannot_carry_is_400_not_401(api: Running) -> None:
    # The body is parsed once, strictly; a number JSON cannot carry falls back to the lenient read
    # of "source", so the per-source secret still applies and the answer is 400, as before.
    raw = b'{"source": "trustpilot", "kind": "review", "external_id": "n-1", "text": "x", "rating": NaN}'
    response = api.post(raw, secret=SOURCE_SECRET)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed"
    # Malformed JSON names no source: the global secret applies, a per-source signature is 401.
    assert api.post(b'{"source": "trustpilot", ', secret=SOURCE_SECRET).status_code == 401
    assert api.post(b'{"source": "trustpilot", ').status_code == 400
    # With the source header, the signature is checked before the body is parsed (401 before 400).
    assert api.post(b"{", secret="wrong", **{"X-Vigie-Source": "trustpilot"}).status_code == 401
    assert api.post(b"{", secret=SOURCE_SECRET, **{"X-Vigie-Source": "trustpilot"}).status_code == 400
    good = encoded(event("n-2", source="trustpilot"))
    assert api.post(good, secret=SOURCE_SECRET).status_code == 202
    assert api.post(good).status_code == 401  # the global secret does not sign for trustpilot
    assert api.stored() == 1


def test_uvicorn_serves_with_the_c_http_parser(api: Running) -> None:
    thread = ServerThread(api.app, "127.0.0.1", 0)
    thread.server.config.load()
    assert thread.server.config.http_protocol_class.__name__ == "HttpToolsProtocol"


def test_measure_middleware_counts_an_escaping_exception_as_500() -> None:
    registry = CollectorRegistry()

    class Metrics:
        requests = Counter("req", "r", ["route", "status"], registry=registry)
        latency = Histogram("lat", "l", ["route"], registry=registry)

    async def app(_scope: Any, _receive: Any, _send: Any) -> None:
        raise RuntimeError("boom")

    middleware = MeasureMiddleware(app, Metrics())  # type: ignore[arg-type]

    async def call() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(_message: Any) -> None:
            return None

        await middleware({"type": "http", "path": "/healthz", "method": "GET"}, receive, send)

    with pytest.raises(RuntimeError):
        asyncio.run(call())
    assert registry.get_sample_value("req_total", {"route": "/healthz", "status": "500"}) == 1.0
    assert registry.get_sample_value("lat_count", {"route": "/healthz"}) == 1.0
