"""Schemathesis against the live webhook API's own OpenAPI document: generated valid and invalid
requests, signed like a real integration (so they get past the 401 and reach parsing, validation
and the store) and unsigned, must never get a 500, an undocumented status or a response that
breaks the document's schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.platforms.webhook.signing import signed_headers
from tests.hostile.http_support import SECRET, Running, running

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api(sqlite_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Running]:
    with running(sqlite_url, redis_client, tmp_path, rate_per_source=100_000, max_body_bytes=65536) as server:
        yield server


def send(api: Running, case: Any, *, signed: bool) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=api.base)
    body = b""
    if "json" in kwargs:
        body = json.dumps(kwargs["json"], ensure_ascii=False).encode("utf-8", "surrogatepass")
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body = data if isinstance(data, bytes) else str(data).encode("utf-8", "surrogatepass")
    elif not isinstance(case.body, NotSet) and isinstance(case.body, bytes):
        body = case.body
    headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "user-agent"}
    if body or case.method.upper() == "POST":
        headers["Content-Type"] = case.media_type or "application/json"
    if signed:
        headers.update(signed_headers(SECRET, body))
    return httpx.request(
        case.method,
        kwargs["url"],
        params=kwargs.get("params"),
        content=body or None,
        headers=headers,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("mode", "signed", "examples"),
    [
        (GenerationMode.POSITIVE, True, 40),
        (GenerationMode.NEGATIVE, True, 40),
        (GenerationMode.NEGATIVE, False, 15),
    ],
)
def test_the_api_keeps_its_openapi_contract(
    api: Running, mode: GenerationMode, signed: bool, examples: int
) -> None:
    schema = schemathesis.openapi.from_url(api.base + "/openapi.json")
    operations = {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations())}  # type: ignore[union-attr]
    assert {
        "POST /v1/events",
        "POST /v1/events/batch",
        "GET /v1/events/{event_id}",
        "GET /healthz",
    } <= operations
    statuses: list[int] = []

    @settings(
        max_examples=examples,
        deadline=timedelta(seconds=5),
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    @given(case=schema.as_strategy(mode))
    def check(case: Any) -> None:
        response = send(api, case, signed=signed)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()
    assert statuses and all(status < 500 for status in statuses)
    if signed and mode is GenerationMode.POSITIVE:
        assert 202 in statuses  # valid signed events did get stored: the generator reached the store
    if not signed:
        assert 401 in statuses


def test_strategy_covers_every_operation_in_the_document(api: Running) -> None:
    schema = schemathesis.openapi.from_url(api.base + "/openapi.json")
    seen: set[str] = set()

    @settings(max_examples=40, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy(GenerationMode.POSITIVE), _=st.none())
    def collect(case: Any, _: None) -> None:
        seen.add(f"{case.method.upper()} {case.path}")

    collect()
    assert "POST /v1/events" in seen and "GET /v1/events/{event_id}" in seen
