"""A fake Slack Web API on 127.0.0.1 (ephemeral port) for `WebClient(base_url=fake.url)`.

It records every call (method, parameters, time), answers the methods Vigie uses with Slack's
shapes, checks Block Kit limits the way Slack does (`invalid_blocks`), and can be told to answer
429 with Retry-After or 500 for the next N calls of a method. Response URLs
(`fake.response_url(...)`) are served too, for `respond()` after slash commands and clicks.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER_ID = "UVIGIEBOT"
BOT_ID = "BVIGIEBOT"
TEAM_ID = "T111"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    authorized: bool


@dataclass
class Failure:
    status: int
    remaining: int
    retry_after: float | None = None


@dataclass
class FakeSlack:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return self.url.replace("/api/", f"/response/{name}")

    # -- test controls

    def fail_next(
        self, method: str, *, status: int = 429, count: int = 1, retry_after: float | None = 1
    ) -> None:
        with self._lock:
            self.failures[method] = Failure(status, count, retry_after)

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def posts(self, channel: str | None = None) -> list[Call]:
        return [
            c for c in self.of("chat.postMessage") if channel is None or c.params.get("channel") == channel
        ]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {method}, got {len(self.of(method))}")

    # -- serving

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode() if length else ""
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        if raw:
            if "json" in (request.headers.get("Content-Type") or ""):
                params.update(json.loads(raw))
            else:
                params.update(dict(parse_qsl(raw)))
        for key in ("blocks", "view", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        method = "response_url" if parts.path.startswith("/response/") else parts.path.removeprefix("/api/")
        authorized = (request.headers.get("Authorization") or "").startswith("Bearer ")
        with self._lock:
            self.calls.append(Call(method, params, self.clock(), authorized))
            failure = self.failures.get(method)
            if failure is not None and failure.remaining > 0:
                failure.remaining -= 1
                self._send(request, failure.status, _failure_body(failure.status), failure.retry_after)
                return
        if method == "response_url":
            request.send_response(200)
            request.send_header("Content-Type", "text/plain")
            request.send_header("Content-Length", "2")
            request.end_headers()
            request.wfile.write(b"ok")
            return
        self._send(request, 200, self._answer(method, params))

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], retry_after: float | None = None
    ) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        if status == 429 and retry_after is not None:
            request.send_header("Retry-After", str(int(retry_after)))
        request.end_headers()
        request.wfile.write(data)

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://vigie-test.slack.com/",
                "team": "Vigie",
                "user": "vigie",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.update"):
            if not params.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if not params.get("text") and not params.get("blocks"):
                return {"ok": False, "error": "no_text"}
            errors = block_kit_errors(params.get("blocks") or [])
            if errors:
                return {"ok": False, "error": "invalid_blocks", "errors": errors}
            ts = params.get("ts") if method == "chat.update" else self._next_ts()
            message = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": params.get("text", ""),
                "ts": ts,
                "blocks": params.get("blocks") or [],
            }
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            errors = block_kit_errors(params.get("blocks") or [])
            if errors:
                return {"ok": False, "error": "invalid_blocks", "errors": errors}
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("views.open", "views.update", "views.push"):
            view = params.get("view") or {}
            errors = view_errors(view)
            if errors:
                return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
            return {
                "ok": True,
                "view": {
                    **view,
                    "id": f"V{next(self._views):05d}",
                    "team_id": TEAM_ID,
                    "state": {"values": {}},
                    "hash": "1.abc",
                },
            }
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": params.get("user"), "profile": {"email": user.get("email")}}}
        if method == "users.lookupByEmail":
            for user_id, user in self.users.items():
                if user.get("email") == params.get("email"):
                    return {"ok": True, "user": {"id": user_id, "profile": {"email": user.get("email")}}}
            return {"ok": False, "error": "users_not_found"}
        if method == "conversations.info":
            channel = str(params.get("channel"))
            return {
                "ok": True,
                "channel": {
                    "id": channel,
                    "name": channel.lower(),
                    "is_channel": True,
                    "is_ext_shared": channel.startswith("CEXT"),
                },
            }
        return {"ok": False, "error": "unknown_method"}


def _failure_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"ok": False, "error": "ratelimited"}
    return {"ok": False, "error": "internal_error"}


def block_kit_errors(blocks: list[dict[str, Any]]) -> list[str]:
    """The limits Slack enforces on messages (a subset: the ones a renderer can get wrong)."""
    errors: list[str] = []
    if len(blocks) > 50:
        errors.append("no more than 50 items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        kind = block.get("type")
        text = (block.get("text") or {}).get("text")
        if kind == "section":
            if text is not None and not (1 <= len(text) <= 3000):
                errors.append(f"must be less than 3001 characters [json-pointer:{where}/text/text]")
            fields = block.get("fields") or []
            if len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                errors.append(f"invalid fields [json-pointer:{where}/fields]")
            if text is None and not fields:
                errors.append(f"section needs text or fields [json-pointer:{where}]")
        elif kind == "header":
            if text is None or len(text) > 150:
                errors.append(f"must be less than 151 characters [json-pointer:{where}/text/text]")
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > 10 or any(len(e.get("text", "")) > 3000 for e in elements):
                errors.append(f"invalid context [json-pointer:{where}/elements]")
        elif kind == "actions":
            elements = block.get("elements") or []
            ids = [e.get("action_id") for e in elements]
            if not elements or len(elements) > 25 or len(set(ids)) != len(ids):
                errors.append(f"invalid actions [json-pointer:{where}/elements]")
            for element in elements:
                if len(element.get("value", "")) > 2000 or len(element["text"]["text"]) > 75:
                    errors.append(f"invalid button [json-pointer:{where}/elements]")
        if len(str(block.get("block_id", ""))) > 255:
            errors.append(f"block_id too long [json-pointer:{where}/block_id]")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(set(block_ids)) != len(block_ids):
        errors.append("duplicate block_id [json-pointer:/blocks]")
    return errors


def view_errors(view: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("view type must be modal")
    if len((view.get("title") or {}).get("text", "")) > 24:
        errors.append("title must be 24 characters or less")
    if len(view.get("private_metadata") or "") > 3000:
        errors.append("private_metadata must be 3000 characters or less")
    if len(view.get("blocks") or []) > 100:
        errors.append("no more than 100 blocks")
    return errors
