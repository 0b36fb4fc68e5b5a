"""A real Vigie HTTP app on 127.0.0.1 (uvicorn thread), real store and Redis, chosen settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from bot.httpserver import ServerThread
from bot.platforms.webhook.signing import signed_headers
from bot.queue import JobQueue
from bot.settings import load_settings
from bot.store.unit import Store
from bot.web import create_app
from bot.workspace import SourceConfig, default_workspace

SECRET = "hostile-webhook-secret"
SOURCE_SECRET = "trustpilot-own-secret"


@dataclass
class Running:
    base: str
    store: Store
    queue: JobQueue
    app: Any

    def post(
        self, body: bytes, *, path: str = "/v1/events", secret: str = SECRET, **headers: str
    ) -> httpx.Response:
        signed = signed_headers(secret, body)
        return httpx.post(
            self.base + path,
            content=body,
            headers={"Content-Type": "application/json", **signed, **headers},
            timeout=30,
        )

    def stored(self) -> int:
        with self.store.unit() as unit:
            return sum(unit.events.status_counts().values())


def event(external_id: str = "h-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "google-reviews",
        "kind": "review",
        "external_id": external_id,
        "text": "Colis arrivé cassé",
        "author": {"id": "u-19", "name": "M. L."},
        "rating": 1,
    }
    body.update(overrides)
    return body


def encoded(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


@contextmanager
def running(database_url: str, redis_client: redis.Redis, data_dir: Path, **http: Any) -> Iterator[Running]:
    settings = load_settings(
        data_dir=data_dir, webhook={"secret": SECRET}, http={"max_body_bytes": 8192, **http}
    )
    workspace = default_workspace().model_copy(
        update={"sources": {"trustpilot": SourceConfig.model_validate({"secret": SOURCE_SECRET})}}
    )
    store = Store(database_url)
    queue = JobQueue(redis_client)
    app = create_app(settings=settings, store=store, queue=queue, workspace=workspace)
    thread = ServerThread(app, "127.0.0.1", 0)
    thread.start()
    thread.wait_started()
    try:
        yield Running(f"http://127.0.0.1:{thread.port}", store, queue, app)
    finally:
        thread.stop()
        store.dispose()
