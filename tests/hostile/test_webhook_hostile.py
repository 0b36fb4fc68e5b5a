"""Hostile requests to the webhook API not covered by tests/spine/test_webhook_api.py: absurd
headers, numbers JSON cannot carry, streamed oversized bodies, nesting and non-UTF-8 in batches,
replayed signatures, and the per-source rate limit. Always a JSON error, never a 500."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from bot.platforms.webhook.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers
from tests.hostile.http_support import SECRET, SOURCE_SECRET, Running, encoded, event, running

RATE = 4


@pytest.fixture
def api(database_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Running]:
    with running(database_url, redis_client, tmp_path, rate_per_source=RATE) as server:
        yield server


def error_of(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body["error"]) >= {"status", "code", "message"}
    assert body["error"]["status"] == response.status_code
    return dict(body["error"])


@pytest.mark.parametrize(
    "stamp", ["9" * 400, "-" + "9" * 400, "9" * 5000, "1e999", "nan", "0x10", "١٢٣", "\u00e9t\u00e9"]
)
def test_absurd_timestamps_are_401_naming_the_header(api: Running, stamp: str) -> None:
    body = encoded(event())
    raw = stamp.encode()  # non-ASCII goes out as UTF-8 bytes, read back as Latin-1 by the server
    signature = sign(SECRET, stamp, body).encode()
    headers = {
        b"Content-Type": b"application/json",
        TIMESTAMP_HEADER.encode(): raw,
        SIGNATURE_HEADER.encode(): signature,
    }
    for response in (
        httpx.post(api.base + "/v1/events", content=body, headers=headers),
        httpx.post(api.base + "/v1/events/batch", content=b'{"events": []}', headers=headers),
        httpx.get(
            api.base + "/v1/events/ev-x",
            headers={TIMESTAMP_HEADER.encode(): raw, SIGNATURE_HEADER.encode(): b"v1=00"},
        ),
    ):
        assert response.status_code == 401, response.text
        error = error_of(response)
        assert error["code"] == "bad_signature"
        assert error["field"] in (TIMESTAMP_HEADER, SIGNATURE_HEADER)
    assert api.stored() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"x": NaN}',
        b'{"x": Infinity}',
        b'{"x": -Infinity}',
        b'{"x": 1e999}',
        b'{"x": ' + b"9" * 5000 + b"}",  # over Python's 4300-digit int conversion limit
    ],
)
def test_numbers_json_cannot_carry_are_400_and_nothing_is_stored(api: Running, raw: bytes) -> None:
    body = encoded(event())[:-1] + b', "metadata": ' + raw + b"}"
    response = api.post(body)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "malformed"
    batch = api.post(b'{"events": [' + body + b"]}", path="/v1/events/batch")
    assert batch.status_code == 400
    assert api.stored() == 0


def test_an_event_stored_with_odd_values_reads_back_as_json(api: Running) -> None:
    body = encoded(event(metadata={"big": 10**300, "tiny": 1e-300, "neg": -0.0, "nul": "\u0000"}))
    created = api.post(body)
    assert created.status_code == 202, created.text
    path = f"/v1/events/{created.json()['id']}"
    shown = httpx.get(api.base + path, headers=signed_headers(SECRET, f"GET {path}".encode()))
    assert shown.status_code == 200
    assert shown.json()["event"]["metadata"]["big"] == 10**300


def test_a_streamed_oversized_body_without_length_is_413(api: Running) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}'

    headers = {"Content-Type": "application/json", **signed_headers(SECRET, b"{}")}
    response = httpx.post(api.base + "/v1/events", content=chunks(), headers=headers)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert api.stored() == 0


@pytest.mark.parametrize("length", ["-1", "1e3", "0x10", "9" * 30])
def test_odd_content_lengths_never_reach_the_app_as_a_500(api: Running, length: str) -> None:
    import socket

    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            f"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n{{}}".encode()
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 413), answer[:200]


def test_deep_nesting_and_non_utf8_in_a_batch_are_400(api: Running) -> None:
    deep = b'{"events": [' + b"[" * 2000 + b"]" * 2000 + b"]}"
    response = api.post(deep, path="/v1/events/batch")
    assert response.status_code == 400 and "nested" in str(error_of(response)["message"])
    latin1 = '{"events": [{"text": "Très déçu"}]}'.encode("latin-1")
    response = api.post(latin1, path="/v1/events/batch")
    assert response.status_code == 400 and error_of(response)["message"] == "body is not UTF-8"
    deep_object = b'{"a":' * 1200 + b"1" + b"}" * 1200
    response = api.post(deep_object)
    assert response.status_code == 400
    assert api.stored() == 0


def test_lone_surrogates_are_422_not_500(api: Running) -> None:
    body = (
        b'{"source": "google-reviews", "kind": "review", "external_id": "\\ud800", "text": "\\udfff x",'
        b' "author": {"id": "u"}}'
    )
    response = api.post(body)
    assert response.status_code == 422
    assert error_of(response)["field"] in ("external_id", "text")


# -- replayed signatures -------------------------------------------------------------------------


def test_a_replayed_request_within_the_window_stores_and_enqueues_once(api: Running) -> None:
    body = encoded(event("replay-1"))
    headers = {"Content-Type": "application/json", **signed_headers(SECRET, body)}
    answers = [httpx.post(api.base + "/v1/events", content=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    assert api.stored() == 1
    assert api.queue.events.count == 1


def test_a_captured_signature_is_refused_once_its_window_has_passed(api: Running) -> None:
    body = encoded(event("replay-2"))
    old = signed_headers(SECRET, body, now=time.time() - 301)
    response = httpx.post(
        api.base + "/v1/events", content=body, headers={"Content-Type": "application/json", **old}
    )
    assert response.status_code == 401 and error_of(response)["field"] == TIMESTAMP_HEADER
    # Moving the timestamp forward without the secret breaks the signature instead.
    fresh = {**old, TIMESTAMP_HEADER: str(int(time.time()))}
    response = httpx.post(
        api.base + "/v1/events", content=body, headers={"Content-Type": "application/json", **fresh}
    )
    assert response.status_code == 401 and error_of(response)["field"] == SIGNATURE_HEADER
    assert api.stored() == 0


def test_a_signature_from_the_future_is_refused(api: Running) -> None:
    body = encoded(event("replay-3"))
    future = signed_headers(SECRET, body, now=time.time() + 3600)
    response = httpx.post(
        api.base + "/v1/events", content=body, headers={"Content-Type": "application/json", **future}
    )
    assert response.status_code == 401


def test_a_per_source_signature_cannot_be_replayed_as_another_source(api: Running) -> None:
    own = encoded(event("replay-4", source="trustpilot"))
    headers = {"Content-Type": "application/json", **signed_headers(SOURCE_SECRET, own)}
    assert httpx.post(api.base + "/v1/events", content=own, headers=headers).status_code == 202
    # The same signed body sent as a batch claiming another source: the source's secret is not the global one.
    batch = json.dumps({"events": [json.loads(own)]}).encode()
    headers = {
        "Content-Type": "application/json",
        **signed_headers(SOURCE_SECRET, batch),
        "X-Vigie-Source": "google-reviews",
    }
    response = httpx.post(api.base + "/v1/events/batch", content=batch, headers=headers)
    assert response.status_code == 401
    # Signed for trustpilot and claiming trustpilot, but carrying another source's event: refused per item.
    other = json.dumps({"events": [event("replay-5")]}).encode()
    headers = {
        "Content-Type": "application/json",
        **signed_headers(SOURCE_SECRET, other),
        "X-Vigie-Source": "trustpilot",
    }
    response = httpx.post(api.base + "/v1/events/batch", content=other, headers=headers)
    assert response.status_code == 422 and response.json()["results"][0]["status"] == "invalid"
    assert api.stored() == 1


def test_a_get_signature_is_bound_to_its_event(api: Running) -> None:
    first = api.post(encoded(event("bound-1"))).json()["id"]
    second = api.post(encoded(event("bound-2"))).json()["id"]
    captured = signed_headers(SECRET, f"GET /v1/events/{first}".encode())
    assert httpx.get(f"{api.base}/v1/events/{first}", headers=captured).status_code == 200
    assert httpx.get(f"{api.base}/v1/events/{second}", headers=captured).status_code == 401


# -- rate limit per source -----------------------------------------------------------------------


def test_requests_beyond_the_rate_per_source_get_429_json(api: Running) -> None:
    answers = [api.post(encoded(event(f"rate-{index}"))) for index in range(RATE + 2)]
    assert [a.status_code for a in answers] == [202] * RATE + [429, 429]
    error = error_of(answers[-1])
    assert error["code"] == "rate_limited"
    assert api.stored() == RATE
    # Another source from the same client has its own window.
    other = api.post(encoded(event("rate-other", source="trustpilot")), secret=SOURCE_SECRET)
    assert other.status_code == 202
    # A batch claiming the limited source is limited too.
    batch = api.post(
        json.dumps({"events": [event("rate-b")]}).encode(),
        path="/v1/events/batch",
        **{"X-Vigie-Source": "google-reviews"},
    )
    assert batch.status_code == 429
    assert api.stored() == RATE + 1
