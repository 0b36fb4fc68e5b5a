"""The HTTP app: webhooks, Slack endpoints (when configured), health, metrics and OpenAPI.

FastAPI on uvicorn: the OpenAPI document comes from the same pydantic models that validate the
bodies (schemathesis tests against it), and slack_bolt ships an adapter for it. aiohttp (which
discord.py brings) has neither."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.events import Event
from bot.ingest import Ingestor
from bot.platforms.webhook.api import SingleEventRoute, WebhookApi, openapi_components, router
from bot.ports import IngestResult
from bot.queue import JobQueue, ping
from bot.settings import Settings
from bot.store.counters import RedisStatsSink
from bot.store.metrics import LATENCY_BUCKETS, MetricsRepo
from bot.store.unit import Store
from bot.workspace import Workspace


class StoreCollector(Collector):
    """Metrics read at scrape time from the store and Redis, so every process's work is visible from
    one endpoint whichever replica answers. Labels are bounded: statuses, effect kinds, severities,
    rule ids of the loaded rulebook."""

    def __init__(self, store: Store, queue: JobQueue) -> None:
        self.store = store
        self.queue = queue

    def collect(self) -> Any:
        yield from self._store_metrics()
        yield from self._queue_metrics()

    def _store_metrics(self) -> Any:
        events = GaugeMetricFamily("vigie_events", "Stored events by processing status", labels=["status"])
        effects = GaugeMetricFamily(
            "vigie_effects",
            "Effects (posts, moderation, deliveries, pages) by kind and status",
            labels=["kind", "status"],
        )
        incidents = GaugeMetricFamily(
            "vigie_crisis_incidents", "Crisis incidents by status and severity", labels=["status", "severity"]
        )
        sla = CounterMetricFamily(
            "vigie_sla_events", "SLA warnings, breaches and escalations", labels=["event"]
        )
        latency = HistogramMetricFamily(
            "vigie_processing_seconds", "Receipt to processed, events processed in the last 15 minutes"
        )
        try:
            with self.store.unit() as unit:
                for status, count in unit.events.status_counts().items():
                    events.add_metric([status], count)
                repo = MetricsRepo(unit.session)
                for (kind, status), count in repo.effects().items():
                    effects.add_metric([kind, status], count)
                for (status, severity), count in repo.incidents().items():
                    incidents.add_metric([status, severity], count)
                for action, count in repo.audit_actions(SLA_ACTIONS).items():
                    sla.add_metric([action.removeprefix("sla.")], count)
                samples = repo.processing_latencies()
        except Exception:  # the store is down: /healthz says so, metrics stay scrapeable
            return
        buckets = [(str(bound), sum(1 for s in samples if s <= bound)) for bound in LATENCY_BUCKETS]
        buckets.append(("+Inf", len(samples)))
        latency.add_metric([], buckets, sum(samples))
        yield from (events, effects, incidents, sla, latency)

    def _queue_metrics(self) -> Any:
        depth = GaugeMetricFamily("vigie_queue_depth", "Jobs waiting per queue", labels=["queue"])
        hits = CounterMetricFamily("vigie_rule_hits", "Rule hits flushed by the workers", labels=["rule"])
        try:
            for name, count in self.queue.depth().items():
                depth.add_metric([name], count)
            alive = GaugeMetricFamily(
                "vigie_workers_alive", "Workers with a live heartbeat", value=self.queue.live_workers()
            )
            for rule, counters in RedisStatsSink(self.queue.client).read().items():
                hits.add_metric([rule], counters.hits)
        except Exception:  # Redis is down: /healthz says so
            return
        yield from (depth, alive, hits)


class Metrics:
    def __init__(self, store: Store, queue: JobQueue) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vigie_http_requests", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "vigie_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.ingested = Counter(
            "vigie_events_ingested", "Events received over HTTP", ["result"], registry=self.registry
        )
        self.registry.register(StoreCollector(store, queue))


class MeasureMiddleware:
    """`vigie_http_requests{route,status}` and `vigie_http_request_seconds{route}` (time to the
    response's status line). A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` (what
    `@app.middleware("http")` builds) runs every request through a task group and memory streams,
    which cost more CPU than the webhook handler itself. An exception that escapes the app counts
    as 500, the answer Starlette's error middleware sends for it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Labelled children, looked up once: routes are the known paths and "other", statuses few.
        self._counts: dict[tuple[str, int], Any] = {}
        self._latencies: dict[str, Any] = {}

    def _record(self, route: str, status: int, seconds: float) -> None:
        count = self._counts.get((route, status))
        if count is None:
            count = self._counts[(route, status)] = self.metrics.requests.labels(route, str(status))
        latency = self._latencies.get(route)
        if latency is None:
            latency = self._latencies[route] = self.metrics.latency.labels(route)
        count.inc()
        latency.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        route = path if path in _KNOWN_PATHS else "other"
        measured = False

        async def send_measured(message: Message) -> None:
            nonlocal measured
            if not measured and message["type"] == "http.response.start":
                measured = True
                self._record(route, message["status"], time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_measured)
        except Exception:
            if not measured:
                self._record(route, 500, time.perf_counter() - started)
            raise


def create_app(
    *,
    settings: Settings,
    store: Store,
    queue: JobQueue,
    workspace: Workspace,
    extra_routers: list[Any] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Vigie", version="0.1.0", description="Webhook API, Slack endpoints, health and metrics."
    )
    metrics = Metrics(store, queue)
    ingestor = Ingestor(store, queue)

    def ingest_many(events: list[Event]) -> list[IngestResult]:
        results = ingestor.ingest_many(events)
        duplicates = sum(1 for result in results if result.duplicate)
        if duplicates:  # one increment per label and write, not per event
            metrics.ingested.labels("duplicate").inc(duplicates)
        if len(results) > duplicates:
            metrics.ingested.labels("stored").inc(len(results) - duplicates)
        return results

    api = WebhookApi(
        ingest_many=ingest_many,
        store=store,
        workspace=workspace,
        secret=settings.webhook.secret.get_secret_value() if settings.webhook.secret else None,
        tolerance=settings.webhook.tolerance_seconds,
        max_body=settings.http.max_body_bytes,
        rate_per_minute=settings.http.rate_per_source,
    )
    app.include_router(router(api))
    for extra in extra_routers or []:
        app.include_router(extra)

    app.add_middleware(SingleEventRoute, api=api)
    app.add_middleware(MeasureMiddleware, metrics=metrics)  # added last: outermost, sees every request

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": {"status": error.status_code, "code": "http_error", "message": str(error.detail)}},
            status_code=error.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first["loc"])
        return JSONResponse(
            {"error": {"status": 422, "code": "invalid", "message": first["msg"], "field": field}},
            status_code=422,
        )

    health_doc = {"content": {"application/json": {"schema": {"type": "object"}}}}

    @app.get(
        "/healthz",
        tags=["ops"],
        summary="Store, Redis and workers",
        responses={
            200: {"description": "Healthy"} | health_doc,
            503: {"description": "Degraded"} | health_doc,
        },
    )
    def healthz() -> JSONResponse:  # blocking checks: FastAPI runs it in its thread pool
        problems = [p for p in (store.ping(), ping(queue.client)) if p]
        detail: dict[str, Any] = {}
        if not problems:
            try:
                detail["queue"] = queue.depth()
                detail["workers"] = queue.live_workers()
            except Exception as error:
                problems.append(f"redis: {error}")
        status = "ok" if not problems else "degraded"
        return JSONResponse(
            {"status": status, "problems": problems, **detail}, status_code=200 if not problems else 503
        )

    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,  # documents text/plain, not FastAPI's default JSON
        responses={200: {"description": "Prometheus text exposition format"}},
    )
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(openapi_components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


SLA_ACTIONS = ("sla.warned", "sla.missed", "sla.escalated")
_KNOWN_PATHS = {"/v1/events", "/v1/events/batch", "/healthz", "/metrics", "/slack/events", "/openapi.json"}
