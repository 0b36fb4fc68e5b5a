"""The webhook API: `POST /v1/events`, `POST /v1/events/batch`, `GET /v1/events/{id}`.

Order of checks, cheapest and safest first: size (413) → media type (415) → signature and timestamp
(401) → JSON syntax (400) → event schema (422). Every error is JSON naming the field or header."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.events import Event, event_id_for
from bot.platforms.webhook.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from bot.ports import IngestResult
from bot.store.unit import Store
from bot.workspace import Workspace

MAX_BATCH = 500
WRITE_SPACING = 0.050
"""Seconds between the starts of two group-commit writes of single events (see IngestBatcher)."""
GAP_SMOOTHING = 0.2  # weight of the newest gap in the moving average
GAP_CAP = 1.0  # seconds: one long pause counts as this, so the average comes back down soon
SOURCE_HEADER = "X-Vigie-Source"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": {"status": self.status, "code": self.code, "message": self.message}}
        if self.field is not None:
            body["error"]["field"] = self.field
        body["error"].update(self.extra)
        return JSONResponse(body, status_code=self.status)


def field_errors(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    found = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        found.append(
            {"field": f"{prefix}{path}" if path else prefix.rstrip(".") or "(body)", "message": item["msg"]}
        )
    return found


class RateLimiter:
    """Fixed one-minute windows per (client, source): enough to stop one noisy integration from
    starving the others on this replica. Shared limits across replicas belong in the proxy."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.windows: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))

    def allow(self, client: str, source: str) -> bool:
        minute = int(time.time() // 60)
        window, count = self.windows[(client, source)]
        if window != minute:
            window, count = minute, 0
        count += 1
        self.windows[(client, source)] = (window, count)
        if len(self.windows) > 10_000:  # bound memory: drop windows of past minutes
            for key in [k for k, (w, _c) in self.windows.items() if w != minute]:
                del self.windows[key]
        return count <= self.per_minute


class IngestBatcher:
    """Single events posted concurrently are stored together: one transaction and one Redis round
    trip for all the requests that arrived while the previous write was running, on one writer
    thread, so the event loop keeps reading requests meanwhile. Each request is answered once its
    own row is committed (persist before ack).

    A write costs mostly per write, not per event (two transactions, the queue round trip, one job
    for a worker): with SQLite and a local Redis, ~1.8 ms of CPU for one event, ~0.7 ms per event
    for four. Evenly spread requests
    rarely overlap a 2 ms write, so under a steady load that alone would write them one by one.
    Hence, while events arrive faster than two per `spacing` (a moving average of the gaps between
    them), writes start at most once per `spacing` and an event waits for the next one, at most
    `spacing`: at 300 events/s and 50 ms, ~20 writes of fifteen instead of 300 of one. What one
    write stored is one job for a worker, whose cost per event falls with its size too (measured
    in-process, jobs of 4 / 8 / 16 / 32 events: 4.2 / 3.3 / 2.8 / 2.5 ms of CPU per event), so
    50 ms rather than 20 (acks ~30 ms later) is what lets two workers keep up with 300 events/s.
    Slower than that, nothing waits: a quiet server writes a lone event at once, and a pause of a
    few `spacing` ends the waiting."""

    def __init__(
        self,
        ingest_many: Callable[[list[Event]], list[IngestResult]],
        max_batch: int,
        spacing: float = WRITE_SPACING,
    ) -> None:
        self.ingest_many = ingest_many
        self.max_batch = max_batch
        self.spacing = spacing
        self.pending: list[tuple[Event, asyncio.Future[IngestResult]]] = []
        self.draining = False
        self.drainer: asyncio.Task[None] | None = None
        self.last_write = -math.inf  # loop.time() when the last write started
        self.last_arrival = -math.inf
        self.gap = GAP_CAP  # moving average of the seconds between two submitted events
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-ingest")

    async def run(self, events: Sequence[Event]) -> list[IngestResult]:
        """A whole batch request, on the same writer thread (the event loop stays free)."""
        return await asyncio.get_running_loop().run_in_executor(self.writer, self.ingest_many, list(events))

    async def submit(self, event: Event) -> IngestResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        now = loop.time()
        self.gap += (min(now - self.last_arrival, GAP_CAP) - self.gap) * GAP_SMOOTHING
        self.last_arrival = now
        self.pending.append((event, future))
        if not self.draining:
            self.draining = True
            self.drainer = loop.create_task(self._drain())  # referenced: a bare task may be collected
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                if self.gap < self.spacing / 2 and len(self.pending) < self.max_batch:
                    wait = self.last_write + self.spacing - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)  # busy: let the next requests join this write
                self.last_write = loop.time()
                batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
                try:
                    results = await loop.run_in_executor(
                        self.writer, self.ingest_many, [event for event, _ in batch]
                    )
                except Exception as error:  # the store is down: every request of the batch fails
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.draining = False


class WebhookApi:
    def __init__(
        self,
        *,
        ingest_many: Any,
        store: Store,
        workspace: Workspace,
        secret: str | None,
        tolerance: int,
        max_body: int,
        rate_per_minute: int,
    ) -> None:
        self.ingest_many = ingest_many
        self.store = store
        self.workspace = workspace
        self.secret = secret
        self.tolerance = tolerance
        self.max_body = max_body
        self.limiter = RateLimiter(rate_per_minute)
        self.batcher = IngestBatcher(ingest_many, MAX_BATCH)

    def secret_for(self, source: str | None) -> str | None:
        if source:
            config = self.workspace.sources.get(source)
            if config is not None and config.secret is not None:
                return config.secret.get_secret_value()
        return self.secret

    async def read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise ApiError(400, "bad_header", "Content-Length must be a number", field="Content-Length")
            if int(declared) > self.max_body:
                raise ApiError(413, "too_large", f"body over {self.max_body} bytes", limit=self.max_body)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > self.max_body:
                raise ApiError(413, "too_large", f"body over {self.max_body} bytes", limit=self.max_body)
        return bytes(body)

    def check_media_type(self, request: Request) -> None:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise ApiError(
                415, "unsupported_media_type", "send Content-Type: application/json", field="Content-Type"
            )

    def authenticate(self, request: Request, body: bytes, source: str | None) -> None:
        secret = self.secret_for(source)
        if not secret:
            raise ApiError(401, "unauthenticated", "no webhook secret is configured for this source")
        try:
            verify(
                secret,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                body,
                tolerance=self.tolerance,
            )
        except SignatureError as error:
            raise ApiError(401, "bad_signature", str(error), field=_header_of(str(error))) from None
        except OverflowError:  # a timestamp of hundreds of digits cannot be compared with the clock
            raise ApiError(
                401, "bad_signature", f"{TIMESTAMP_HEADER} must be Unix seconds", field=TIMESTAMP_HEADER
            ) from None

    @staticmethod
    def parse_json(body: bytes) -> Any:
        try:
            return json.loads(body, parse_float=_finite_float, parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise ApiError(400, "malformed", "body is not UTF-8", field="(body)") from None
        except json.JSONDecodeError as error:
            raise ApiError(
                400,
                "malformed",
                f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                field="(body)",
            ) from None
        except RecursionError:
            raise ApiError(400, "malformed", "JSON nested too deeply", field="(body)") from None
        except ValueError as error:  # NaN, Infinity, 1e999, integers over Python's 4300 digits
            raise ApiError(400, "malformed", f"invalid JSON: {str(error)[:120]}", field="(body)") from None

    def claimed_source(self, request: Request, body: bytes) -> str | None:
        header = request.headers.get(SOURCE_HEADER)
        if header:
            return header
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None
        source = data.get("source") if isinstance(data, dict) else None
        return source if isinstance(source, str) else None

    def rate_check(self, request: Request, source: str | None) -> None:
        client = request.client.host if request.client else "unknown"
        if not self.limiter.allow(client, source or "-"):
            raise ApiError(429, "rate_limited", "too many requests for this source; retry in a minute")

    async def post_event(self, request: Request) -> JSONResponse:
        body = await self.read_body(request)
        self.check_media_type(request)
        source = request.headers.get(SOURCE_HEADER)
        data: Any = _UNPARSED
        malformed: ApiError | None = None
        if source:
            self.authenticate(request, body, source)
        else:
            # The secret depends on the body's "source": the body is parsed once, before the
            # signature is checked, and a parse error is reported only after it (401 before 400).
            try:
                data = self.parse_json(body)
            except ApiError as error:
                malformed = error
                source = self.claimed_source(request, body)  # NaN and the like: the lenient parse
            else:
                claimed = data.get("source") if isinstance(data, dict) else None
                source = claimed if isinstance(claimed, str) else None
            self.authenticate(request, body, source)
        self.rate_check(request, source)
        if malformed is not None:
            raise malformed
        if data is _UNPARSED:
            data = self.parse_json(body)
        if not isinstance(data, dict):
            raise ApiError(422, "invalid", "the body must be a JSON object (one event)", field="(body)")
        try:
            event = Event.model_validate(data)
        except ValidationError as error:
            errors = field_errors(error)
            raise ApiError(
                422, "invalid", errors[0]["message"], field=errors[0]["field"], errors=errors
            ) from None
        result = await self.batcher.submit(event)
        return JSONResponse({"id": result.id, "duplicate": result.duplicate}, status_code=202)

    async def post_batch(self, request: Request) -> JSONResponse:
        body = await self.read_body(request)
        self.check_media_type(request)
        source = request.headers.get(SOURCE_HEADER)
        self.authenticate(request, body, source)
        self.rate_check(request, source)
        data = self.parse_json(body)
        items = data.get("events") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ApiError(422, "invalid", 'expected {"events": [...]} or a JSON array', field="events")
        if len(items) > MAX_BATCH:
            raise ApiError(413, "too_many", f"at most {MAX_BATCH} events per batch", field="events")
        valid: list[tuple[int, Event]] = []
        results: list[dict[str, Any]] = [{} for _ in items]
        for index, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise ApiError(422, "invalid", "each event must be a JSON object")
                event = Event.model_validate(item)
                if source and event.source != source:
                    raise ApiError(422, "invalid", f"source must be {source!r} (signed for that source)")
            except ValidationError as error:
                errors = field_errors(error, prefix=f"events[{index}].")
                results[index] = {
                    "index": index,
                    "status": "invalid",
                    "field": errors[0]["field"],
                    "errors": errors,
                }
                continue
            except ApiError as error:
                results[index] = {
                    "index": index,
                    "status": "invalid",
                    "field": f"events[{index}]",
                    "errors": [{"field": f"events[{index}]", "message": error.message}],
                }
                continue
            valid.append((index, event))
        ingested = await self.batcher.run([event for _, event in valid]) if valid else []
        for (index, _event), result in zip(valid, ingested, strict=True):
            results[index] = {
                "index": index,
                "status": "duplicate" if result.duplicate else "stored",
                "id": result.id,
                "duplicate": result.duplicate,
            }
        summary = {
            "stored": sum(1 for r in results if r["status"] == "stored"),
            "duplicate": sum(1 for r in results if r["status"] == "duplicate"),
            "invalid": sum(1 for r in results if r["status"] == "invalid"),
        }
        status = 202 if valid or not items else 422
        return JSONResponse({**summary, "results": results}, status_code=status)

    async def get_event(self, request: Request, event_id: str) -> JSONResponse:
        # A read has no body: the signature covers "GET <path>", so a captured signature cannot read
        # another event within its 5-minute window.
        self.authenticate(request, f"GET {request.url.path}".encode(), request.headers.get(SOURCE_HEADER))
        with self.store.unit() as unit:
            row = unit.events.get(event_id)
            if row is None:
                raise ApiError(404, "not_found", f"no event {event_id}", field="id")
            verdict = unit.events.verdict(event_id)
            effects = [
                {
                    "key": e.key,
                    "kind": e.kind,
                    "status": e.status,
                    "attempts": e.attempts,
                    "error": e.error,
                    "applied_at": e.applied_at.isoformat() if e.applied_at else None,
                }
                for e in unit.effects.for_subject(event_id)
            ]
            return JSONResponse(
                {
                    "id": row.id,
                    "status": row.status,
                    "case_id": row.case_id,
                    "received_at": row.received_at.isoformat(),
                    "processed_at": row.processed_at.isoformat() if row.processed_at else None,
                    "event": row.payload,
                    "verdict": verdict.model_dump(mode="json") if verdict else None,
                    "effects": effects,
                }
            )


class SingleEventRoute:
    """`POST /v1/events` straight to `WebhookApi.post_event`, as an ASGI middleware in front of the
    router: the route declared in `router()` (and so the OpenAPI document) stays as is, but the
    hottest request skips FastAPI's per-request routing, dependency solving and exception-stack
    layers, which cost more CPU than the handler. Same handler, same responses; anything else
    (other methods and paths, `/v1/events/`) goes through the router as before. An unexpected
    exception propagates to Starlette's error middleware (500), as it did from the route."""

    def __init__(self, app: ASGIApp, api: WebhookApi, path: str = "/v1/events") -> None:
        self.app = app
        self.api = api
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _route_path(scope) == self.path:
            try:
                response = await self.api.post_event(Request(scope, receive))
            except ApiError as error:
                response = error.response()
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the root path the app is mounted under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path


_UNPARSED: Any = object()


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _header_of(message: str) -> str:
    return TIMESTAMP_HEADER if TIMESTAMP_HEADER in message else SIGNATURE_HEADER


def _json_of(component: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}}


def _event_body_schema() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Event"}


def router(api: WebhookApi) -> APIRouter:
    routes = APIRouter(prefix="/v1", tags=["webhook"])
    error_responses: dict[int | str, dict[str, Any]] = {
        code: {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in (
            (400, "Malformed JSON"),
            (401, "Bad or stale signature"),
            (413, "Body over the limit"),
            (415, "Not JSON"),
            (422, "Invalid event"),
            (429, "Rate limited"),
        )
    }

    @routes.post(
        "/events",
        status_code=202,
        responses={
            202: {
                "description": "Stored (or already stored)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
            },
            **error_responses,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _event_body_schema()}},
            }
        },
        summary="Submit one event",
    )
    async def post_event(request: Request) -> JSONResponse:
        # create_app serves this path with SingleEventRoute, ahead of the router; the route stays
        # for the OpenAPI document and for an app that includes this router alone.
        try:
            return await api.post_event(request)
        except ApiError as error:
            return error.response()

    @routes.post(
        "/events/batch",
        status_code=202,
        responses={
            **error_responses,
            202: {"description": "Per-item results", "content": _json_of("BatchResults")},
            # Every item invalid: the per-item results, with 422; a body that is no batch: an Error.
            422: {
                "description": "No valid event",
                "content": {
                    "application/json": {
                        "schema": {
                            "anyOf": [
                                {"$ref": "#/components/schemas/BatchResults"},
                                {"$ref": "#/components/schemas/Error"},
                            ]
                        }
                    }
                },
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["events"],
                            "properties": {
                                "events": {
                                    "type": "array",
                                    "maxItems": MAX_BATCH,
                                    "items": _event_body_schema(),
                                }
                            },
                        }
                    }
                },
            }
        },
        summary="Submit up to 500 events",
    )
    async def post_batch(request: Request) -> JSONResponse:
        try:
            return await api.post_batch(request)
        except ApiError as error:
            return error.response()

    @routes.get(
        "/events/{event_id}",
        responses={404: error_responses[422] | {"description": "Unknown id"}, 401: error_responses[401]},
        summary="An event, its verdict and effects",
    )
    async def get_event(request: Request, event_id: str) -> JSONResponse:
        try:
            return await api.get_event(request, event_id)
        except ApiError as error:
            return error.response()

    return routes


def openapi_components() -> dict[str, Any]:
    schema = Event.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {
        "Event": schema,
        **definitions,
        "Accepted": {
            "type": "object",
            "required": ["id", "duplicate"],
            "properties": {"id": {"type": "string"}, "duplicate": {"type": "boolean"}},
        },
        "BatchResults": {
            "type": "object",
            "required": ["stored", "duplicate", "invalid", "results"],
            "properties": {
                "stored": {"type": "integer"},
                "duplicate": {"type": "integer"},
                "invalid": {"type": "integer"},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["index", "status"],
                        "properties": {
                            "index": {"type": "integer"},
                            "status": {"enum": ["stored", "duplicate", "invalid"]},
                            "id": {"type": "string"},
                            "duplicate": {"type": "boolean"},
                            "field": {"type": "string"},
                            "errors": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["status", "code", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": "string"},
                    },
                }
            },
        },
    }


__all__ = ["ApiError", "SingleEventRoute", "WebhookApi", "event_id_for", "openapi_components", "router"]
