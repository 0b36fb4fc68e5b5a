"""The webhook contract over real HTTP: a uvicorn server on 127.0.0.1, a real Redis, a real store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from bot.httpserver import ServerThread
from bot.platforms.webhook.signing import signed_headers
from bot.queue import JobQueue
from bot.settings import load_settings
from bot.store.unit import Store
from bot.web import create_app
from bot.workspace import SourceConfig, default_workspace

SECRET = "test-secret-please-rotate"
REVIEWS_SECRET = "reviews-own-secret"


def event(external_id: str = "r-8841", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "google-reviews",
        "kind": "review",
        "external_id": external_id,
        "text": "Colis arrivé cassé, et personne ne répond au téléphone.",
        "author": {"id": "u-19", "name": "M. L.", "followers": 230},
        "rating": 1,
        "url": "https://example.com/r/8841",
        "created_at": "2026-11-20T09:12:00Z",
    }
    body.update(overrides)
    return body


@pytest.fixture
def server(
    database_url: str, redis_client: redis.Redis, tmp_path: Any
) -> Iterator[tuple[str, Store, JobQueue]]:
    settings = load_settings(data_dir=tmp_path, webhook={"secret": SECRET}, http={"max_body_bytes": 4096})
    workspace = default_workspace().model_copy(
        update={"sources": {"trustpilot": SourceConfig.model_validate({"secret": REVIEWS_SECRET})}}
    )
    store = Store(database_url)
    queue = JobQueue(redis_client)
    thread = ServerThread(
        create_app(settings=settings, store=store, queue=queue, workspace=workspace), "127.0.0.1", 0
    )
    thread.start()
    thread.wait_started()
    try:
        yield f"http://127.0.0.1:{thread.port}", store, queue
    finally:
        thread.stop()
        store.dispose()


def post(
    base: str, body: bytes, *, secret: str = SECRET, path: str = "/v1/events", **headers: str
) -> httpx.Response:
    signed = signed_headers(secret, body)
    return httpx.post(
        base + path, content=body, headers={"Content-Type": "application/json", **signed, **headers}
    )


def test_good_event_is_stored_once_and_enqueued(server: tuple[str, Store, JobQueue]) -> None:
    base, store, queue = server
    body = json.dumps(event()).encode()
    first = post(base, body)
    assert first.status_code == 202
    data = first.json()
    assert data["duplicate"] is False
    assert data["id"].startswith("ev-")
    with store.unit() as unit:
        row = unit.events.get(data["id"])
        assert row is not None and row.status == "queued"
        assert row.payload["text"].startswith("Colis arrivé cassé")
    assert queue.events.count == 1
    assert queue.job_state(JobQueue.event_job_id(data["id"])) == ("queued", None)


def test_duplicate_is_acknowledged_and_changes_nothing(server: tuple[str, Store, JobQueue]) -> None:
    base, store, queue = server
    body = json.dumps(event()).encode()
    first = post(base, body).json()
    second = post(base, json.dumps(event(text="edited text")).encode())
    assert second.status_code == 202
    assert second.json() == {"id": first["id"], "duplicate": True}
    with store.unit() as unit:
        assert unit.events.status_counts() == {"queued": 1}
        row = unit.events.get(first["id"])
        assert row is not None and row.payload["text"].startswith("Colis")
    assert queue.events.count == 1


def test_bad_signature_is_401_and_stores_nothing(server: tuple[str, Store, JobQueue]) -> None:
    base, store, _queue = server
    response = post(base, json.dumps(event()).encode(), secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert response.json()["error"]["field"] == "X-Vigie-Signature"
    with store.unit() as unit:
        assert unit.events.status_counts() == {}


def test_missing_signature_header_is_named(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    response = httpx.post(base + "/v1/events", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert "X-Vigie-Timestamp" in response.json()["error"]["message"]


def test_stale_timestamp_is_401(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    body = json.dumps(event()).encode()
    headers = signed_headers(SECRET, body, now=time.time() - 301)
    response = httpx.post(
        base + "/v1/events", content=body, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "X-Vigie-Timestamp"


def test_replayed_signature_with_other_body_is_refused(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    body = json.dumps(event()).encode()
    headers = signed_headers(SECRET, body)
    other = json.dumps(event("r-other")).encode()
    response = httpx.post(
        base + "/v1/events", content=other, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == 401


def test_per_source_secret_overrides_the_global_one(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    body = json.dumps(event(source="trustpilot")).encode()
    assert post(base, body).status_code == 401
    assert post(base, body, secret=REVIEWS_SECRET).status_code == 202


def test_malformed_json_is_400_with_position(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    response = post(base, b'{"source": "x", ')
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed"
    assert "line 1" in error["message"]


def test_non_utf8_and_deep_nesting_are_400(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    assert post(base, b'{"text": "\xff\xfe"}').status_code == 400
    deep = b"[" * 3000 + b"]" * 3000
    assert post(base, deep).status_code in (400, 413)


def test_oversized_body_is_413(server: tuple[str, Store, JobQueue]) -> None:
    base, store, _queue = server
    body = json.dumps(event(text="x" * 5000)).encode()
    response = post(base, body)
    assert response.status_code == 413
    assert response.json()["error"]["limit"] == 4096
    with store.unit() as unit:
        assert unit.events.status_counts() == {}


def test_not_json_is_415(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    body = json.dumps(event()).encode()
    headers = {"Content-Type": "text/plain", **signed_headers(SECRET, body)}
    response = httpx.post(base + "/v1/events", content=body, headers=headers)
    assert response.status_code == 415
    assert response.json()["error"]["field"] == "Content-Type"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"rating": "five"}, "rating"),
        ({"rating": 9}, "rating"),
        ({"kind": "tweet"}, "kind"),
        ({"author": {"name": "no id"}}, "author.id"),
        ({"external_id": 42}, "external_id"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_wrong_types_are_422_naming_the_field(
    server: tuple[str, Store, JobQueue], override: dict[str, Any], field: str
) -> None:
    base, _store, _queue = server
    response = post(base, json.dumps(event(**override)).encode())
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_batch_stores_valid_items_and_names_invalid_ones(server: tuple[str, Store, JobQueue]) -> None:
    base, store, queue = server
    items = [event("b-1"), event("b-2", rating=0), event("b-3"), "not an object", event("b-1")]
    response = post(base, json.dumps({"events": items}).encode(), path="/v1/events/batch")
    assert response.status_code == 202
    data = response.json()
    assert (data["stored"], data["duplicate"], data["invalid"]) == (2, 1, 2)
    statuses = [r["status"] for r in data["results"]]
    assert statuses == ["stored", "invalid", "stored", "invalid", "duplicate"]
    assert data["results"][1]["field"] == "events[1].rating"
    # The two stored events travel together, in one batch job that names both.
    assert queue.events.count == 1
    (job,) = queue.events.get_jobs()
    stored_ids = {r["id"] for r in data["results"] if r["status"] == "stored"}
    assert set(job.args[0]) == stored_ids
    with store.unit() as unit:
        assert sum(unit.events.status_counts().values()) == 2
        assert {unit.events.get(i).job_id for i in stored_ids} == {job.id}  # type: ignore[union-attr]


def test_batch_over_500_is_refused(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    items = [{"k": i} for i in range(501)]
    body = json.dumps({"events": items}).encode()
    # Over the 4 KiB test limit anyway; either way nothing is stored and the answer is JSON.
    response = post(base, body, path="/v1/events/batch")
    assert response.status_code == 413
    assert response.json()["error"]["code"] in ("too_large", "too_many")


def test_get_event_shows_status_and_requires_signature(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    created = post(base, json.dumps(event()).encode()).json()
    assert httpx.get(f"{base}/v1/events/{created['id']}").status_code == 401
    path = f"/v1/events/{created['id']}"
    response = httpx.get(base + path, headers=signed_headers(SECRET, f"GET {path}".encode()))
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert response.json()["effects"] == []
    missing = httpx.get(
        f"{base}/v1/events/ev-nope", headers=signed_headers(SECRET, b"GET /v1/events/ev-nope")
    )
    other = httpx.get(f"{base}/v1/events/ev-nope", headers=signed_headers(SECRET, f"GET {path}".encode()))
    assert other.status_code == 401  # a read signature is bound to its path
    assert missing.status_code == 404


def test_health_metrics_and_openapi(server: tuple[str, Store, JobQueue]) -> None:
    base, _store, _queue = server
    post(base, json.dumps(event()).encode())
    health = httpx.get(base + "/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    metrics = httpx.get(base + "/metrics").text
    assert 'vigie_events{status="queued"} 1.0' in metrics
    assert 'vigie_events_ingested_total{result="stored"} 1.0' in metrics
    assert "vigie_processing_seconds_bucket" in metrics
    assert "# TYPE vigie_crisis_incidents gauge" in metrics
    assert "# TYPE vigie_effects gauge" in metrics
    schema = httpx.get(base + "/openapi.json").json()
    assert "/v1/events" in schema["paths"]
    assert schema["components"]["schemas"]["Event"]["properties"]["kind"]["enum"] == [
        "comment",
        "review",
        "dm",
        "mention",
        "message",
    ]
