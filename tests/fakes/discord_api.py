"""A small fake Discord (REST + gateway) on 127.0.0.1, for driving the real discord.py client.

It runs on its own event loop in a daemon thread, so synchronous worker code and the asynchronous
gateway client can both talk to it. Every REST call is recorded. Tests can make the next calls answer
429 (with `Via`, as Discord's edge does, so discord.py retries), fail with any status, push gateway
frames (the fixtures in ../shared/fixtures/discord or built ones), and drop the websocket to force a
reconnect + RESUME; frames dispatched while no socket is open are replayed on RESUME, as Discord does.

discord.py parses JSON only when Content-Type is exactly `application/json`, hence `_json`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "discord"
DISCORD_EPOCH_MS = 1420070400000
BOT_ID = "775799577604522054"  # the application id of the fixtures' interaction
TOKEN = "fake-bot-token"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int = 200

    @property
    def reason(self) -> str | None:
        from urllib.parse import unquote

        value = self.headers.get("X-Audit-Log-Reason")
        return unquote(value) if value is not None else None


@dataclass
class Failure:
    remaining: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    match: str | None


@dataclass
class Session:
    session_id: str
    frames: list[dict[str, Any]] = field(default_factory=list)  # every dispatch sent, for RESUME
    seq: int = 0


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeDiscord:
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.bot_user = {
            "id": BOT_ID,
            "username": "Vigie",
            "discriminator": "0",
            "global_name": "Vigie",
            "avatar": None,
            "bot": True,
            "flags": 0,
        }
        self.calls: list[Call] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.guild_creates = [frame["d"] for frame in load_fixture("guild_create_fixtures.json")]
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.threads: dict[str, dict[str, Any]] = {}
        self.dm_channels: dict[str, str] = {"53908099506183680": "290926798999357299"}
        self.nonces: dict[tuple[str, str], str] = {}
        self.failures: list[Failure] = []
        self.session: Session | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-discord", daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # lifecycle

    def start(self) -> FakeDiscord:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        async def shutdown() -> None:
            for ws in list(self._sockets):
                await ws.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # test controls

    def snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._counter) & 0x3FFFFF))

    def rate_limit_next(
        self,
        count: int = 1,
        *,
        retry_after: float = 0.05,
        is_global: bool = False,
        via: bool = True,
        match: str | None = None,
    ) -> None:
        headers = {
            "Retry-After": str(retry_after),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        if via:
            headers["Via"] = "1.1 google"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        with self._lock:
            self.failures.append(Failure(count, 429, body, headers, match))

    def fail_next(self, status: int, *, code: int = 0, count: int = 1, match: str | None = None) -> None:
        with self._lock:
            self.failures.append(
                Failure(count, status, {"message": f"fake {status}", "code": code}, {}, match)
            )

    def find(self, method: str, pattern: str, *, status: int | None = 200) -> list[Call]:
        regex = re.compile(pattern)
        return [
            c
            for c in list(self.calls)
            if c.method == method and regex.search(c.path) and (status is None or c.status == status)
        ]

    def wait_for(self, method: str, pattern: str, *, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(method, pattern)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    async def await_calls(
        self, method: str, pattern: str, *, count: int = 1, timeout: float = 5.0
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(method, pattern)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.01)

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH frame (op 0) now, or on the next RESUME when no socket is open."""
        asyncio.run_coroutine_threadsafe(self._dispatch(event, copy.deepcopy(data)), self._loop).result(5)

    def dispatch_fixture(self, name: str, **changes: Any) -> dict[str, Any]:
        frame = load_fixture(name)
        data: dict[str, Any] = frame["d"]
        data.update(changes)
        self.dispatch(frame["t"], data)
        return data

    def drop_connection(self, code: int = 4000) -> None:
        """Close every gateway socket; 4000 is a resumable close code, as after a network blip."""

        async def drop() -> None:
            for ws in list(self._sockets):
                await ws.close(code=code, message=b"fake drop")

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(5)

    def send_op(self, op: int, data: Any = None) -> None:
        async def send() -> None:
            for ws in list(self._sockets):
                await ws.send_json({"op": op, "d": data})

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)

    def message(self, channel_id: str, content: str = "", **extra: Any) -> dict[str, Any]:
        """A complete message object, as Discord returns it."""
        data = {
            "id": self.snowflake(),
            "channel_id": str(channel_id),
            "author": self.bot_user,
            "content": content,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        data.update(extra)
        return data

    # gateway

    async def _send_dispatch(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        if not ws.closed:
            await ws.send_str(json.dumps(frame))

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        session = self.session
        if session is None:
            raise RuntimeError("no gateway session: wait for READY first")
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.frames.append(frame)
        for ws in list(self._sockets):
            await self._send_dispatch(ws, frame)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45000}})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                if op == 1:
                    self.heartbeats += 1
                    await ws.send_json({"op": 11})
                elif op == 2:
                    await self._identify(ws, payload["d"])
                elif op == 6:
                    await self._resume(ws, payload["d"])
        finally:
            self._sockets.discard(ws)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        self.session = session = Session(session_id=f"fake-session-{len(self.identifies)}")
        self._sockets.add(ws)
        shard = data.get("shard") or [0, 1]
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": g["id"], "unavailable": True} for g in self.guild_creates],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "shard": shard,
            "application": {"id": BOT_ID, "flags": 0},
        }
        await self._dispatch("READY", ready)
        for guild in self.guild_creates:
            data_guild = copy.deepcopy(guild)
            data_guild["threads"] = [t for t in self.threads.values() if t.get("guild_id") == guild["id"]]
            await self._dispatch("GUILD_CREATE", data_guild)

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.resumes.append(data)
        session = self.session
        if session is None or data.get("session_id") != session.session_id or data.get("token") != self.token:
            await ws.send_json({"op": 9, "d": False})
            return
        self._sockets.add(ws)
        for frame in session.frames:
            if frame["s"] > (data.get("seq") or 0):
                await self._send_dispatch(ws, frame)
        await self._dispatch("RESUMED", {})

    # REST

    def _take_failure(self, path: str) -> Failure | None:
        with self._lock:
            for failure in self.failures:
                if failure.remaining > 0 and (failure.match is None or failure.match in path):
                    failure.remaining -= 1
                    return failure
        return None

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith("x-") or k == "Authorization"
        }
        call = Call(request.method, path, dict(request.query), body, headers)
        self.calls.append(call)
        if (
            request.headers.get("Authorization") not in (f"Bot {self.token}", None)
            and "/webhooks/" not in path
        ):
            call.status = 401
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        failure = self._take_failure(path)
        if failure is not None:
            call.status = failure.status
            return _json(failure.body, failure.status, failure.headers)
        status, data = self._route(request.method, path, body, call)
        call.status = status
        if status == 204:
            return web.Response(status=204)
        return _json(data, status)

    def _route(self, method: str, path: str, body: Any, call: Call) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/users/@me":
            return 200, self.bot_user
        if method == "GET" and path == "/oauth2/applications/@me":
            return 200, {
                "id": BOT_ID,
                "name": "Vigie",
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.bot_user,
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "summary": "",
            }
        if method == "GET" and path in ("/gateway/bot", "/gateway"):
            return 200, {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        if method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            guild_id = parts[3] if len(parts) == 5 else None
            return 200, [
                {
                    **command,
                    "id": self.snowflake(),
                    "application_id": BOT_ID,
                    "version": "1",
                    "default_member_permissions": command.get("default_member_permissions"),
                    **({"guild_id": guild_id} if guild_id else {}),
                }
                for command in body or []
            ]
        if method == "POST" and path == "/users/@me/channels":
            recipient = str(body["recipient_id"])
            channel_id = self.dm_channels.setdefault(recipient, self.snowflake())
            return 200, {
                "id": channel_id,
                "type": 1,
                "last_message_id": None,
                "recipients": [{"id": recipient, "username": "member", "discriminator": "0", "avatar": None}],
            }
        if parts[0] == "channels" and len(parts) == 3 and parts[2] == "messages" and method == "POST":
            return self._create_message(parts[1], body)
        if parts[0] == "channels" and len(parts) == 4 and parts[2] == "messages":
            channel_id, message_id = parts[1], parts[3]
            if method == "DELETE":
                if message_id in self.deleted:
                    return 404, {"message": "Unknown Message", "code": 10008}
                self.deleted.add(message_id)
                return 204, None
            if method == "PATCH":
                stored = self.messages.get(message_id) or self.message(channel_id, id=message_id)
                stored.update(
                    {k: v for k, v in (body or {}).items() if k in ("content", "embeds", "components")}
                )
                stored["edited_timestamp"] = datetime.now(UTC).isoformat()
                return 200, stored
        if parts[0] == "channels" and len(parts) == 5 and parts[4] == "threads" and method == "POST":
            channel_id, message_id = parts[1], parts[3]
            if message_id in self.threads:
                return 400, {"message": "A thread has already been created for this message", "code": 160004}
            thread = {
                "id": message_id,
                "type": 11,
                "guild_id": self._guild_of(channel_id),
                "parent_id": channel_id,
                "name": body.get("name", "thread"),
                "owner_id": BOT_ID,
                "message_count": 0,
                "member_count": 1,
                "rate_limit_per_user": 0,
                "flags": 0,
                "last_message_id": None,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": body.get("auto_archive_duration", 1440),
                    "archive_timestamp": datetime.now(UTC).isoformat(),
                    "locked": False,
                },
            }
            self.threads[message_id] = thread
            if self.session is not None:
                asyncio.get_running_loop().create_task(
                    self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
                )
            return 201, thread
        if parts[0] == "channels" and len(parts) == 2 and method == "GET":
            if parts[1] in self.threads:
                return 200, self.threads[parts[1]]
            for guild in self.guild_creates:
                for channel in guild["channels"]:
                    if channel["id"] == parts[1]:
                        return 200, {**channel, "guild_id": guild["id"]}
            return 404, {"message": "Unknown Channel", "code": 10003}
        if parts[0] == "guilds" and len(parts) == 4 and parts[2] == "members":
            if method == "PATCH":
                return 200, {
                    "user": {"id": parts[3], "username": "member", "discriminator": "0", "avatar": None},
                    "roles": [],
                    "joined_at": "2017-03-13T19:19:14.040000+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "communication_disabled_until": (body or {}).get("communication_disabled_until"),
                }
            if method == "DELETE":
                return 204, None
        if parts[0] == "guilds" and len(parts) == 4 and parts[2] == "bans" and method == "PUT":
            return 204, None
        if parts[0] == "interactions" and parts[-1] == "callback" and method == "POST":
            kind = int((body or {}).get("type", 0))
            flags = int(((body or {}).get("data") or {}).get("flags") or 0)
            return 200, {
                "interaction": {
                    "id": parts[1],
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": kind},
            }
        if parts[0] == "webhooks" and method == "POST" and len(parts) == 3:
            message = self.message(
                "0",
                (body or {}).get("content") or "",
                webhook_id=parts[1],
                embeds=(body or {}).get("embeds") or [],
                flags=(body or {}).get("flags") or 0,
            )
            return 200, message
        if parts[0] == "webhooks" and method == "PATCH":
            return 200, self.message("0", (body or {}).get("content") or "", webhook_id=parts[1])
        return 404, {"message": "404: Not Found", "code": 0}

    def _guild_of(self, channel_id: str) -> str | None:
        for guild in self.guild_creates:
            if any(channel["id"] == channel_id for channel in guild["channels"]):
                return str(guild["id"])
        return None

    def _create_message(self, channel_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            existing = self.nonces.get((channel_id, str(nonce)))
            if existing is not None:
                return 200, self.messages[existing]
        message = self.message(
            channel_id,
            body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            nonce=nonce,
        )
        if channel_id in self.threads:
            message["guild_id"] = self.threads[channel_id]["guild_id"]
        self.messages[message["id"]] = message
        if nonce is not None:
            self.nonces[(channel_id, str(nonce))] = message["id"]
        return 200, message


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
