"""Fixtures for the Discord adapter: a fake Discord on loopback, the adapter's config pointed at it,
recording Ingest/Dispatch doubles, and a runner for the real discord.py gateway client."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from bot.events import Event  # noqa: E402
from bot.platforms.discord.config import DiscordConfig  # noqa: E402
from bot.platforms.discord.gateway import DiscordGateway  # noqa: E402
from bot.ports import CommandResult, IngestResult, StaffCommand  # noqa: E402
from tests.fakes.discord_api import TOKEN, FakeDiscord  # noqa: E402

GUILD = 290926798626357999
AUTOMOD_GUILD = 613425648685547541
GENERAL = 290926798999357250
STAFF_CHANNEL = 645027906669510667  # "card-search" in the fixtures: the team channel in these tests
MOD_LOG = 290926798999357251
MEMBER = 53908099506183680  # "Mason#9999", author of the message fixtures
STAFF_MEMBER = 53908232506183680  # "Mason#1337", author of the interaction fixture
STAFF_ROLE = "539082325061836999"  # the "member" role the interaction fixture's user holds


class RecordingIngest:
    """Stores each event once, like the real Ingest, and calls `on_event` for new ones."""

    def __init__(self, on_event: Callable[[Event], None] | None = None) -> None:
        self.events: list[Event] = []
        self.ids: set[str] = set()
        self.on_event = on_event
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> IngestResult:
        with self.lock:
            duplicate = event.id in self.ids
            if not duplicate:
                self.ids.add(event.id)
                self.events.append(event)
        if not duplicate and self.on_event is not None:
            self.on_event(event)
        return IngestResult(id=event.id, duplicate=duplicate)


class RecordingDispatch:
    def __init__(self, handler: Callable[[StaffCommand], CommandResult] | None = None) -> None:
        self.commands: list[StaffCommand] = []
        self.handler = handler

    def __call__(self, command: StaffCommand) -> CommandResult:
        self.commands.append(command)
        if self.handler is not None:
            return self.handler(command)
        return CommandResult(ok=True, message=f"ok: {command.verb}")


@pytest.fixture
def fake_discord(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    fake = FakeDiscord().start()
    # Route.BASE and DEFAULT_GATEWAY are process-wide class attributes: restore them after each test.
    monkeypatch.setattr(Route, "BASE", fake.api_url)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    try:
        yield fake
    finally:
        fake.stop()


def make_config(fake: FakeDiscord, **overrides: Any) -> DiscordConfig:
    values: dict[str, Any] = {
        "token": TOKEN,
        "api_url": fake.api_url,
        "gateway_url": fake.gateway_url,
        "guilds": [GUILD, AUTOMOD_GUILD],
        "staff_channels": [STAFF_CHANNEL],
        "channels": {"moderation": STAFF_CHANNEL, "inbox": STAFF_CHANNEL},
        "mod_log_channel": MOD_LOG,
        "staff_roles": [STAFF_ROLE],
        "moderator_roles": [STAFF_ROLE],
        "guild_ready_timeout": 0.05,
        "request_timeout": 10.0,
    }
    values.update(overrides)
    return DiscordConfig.model_validate(values)


@pytest.fixture
def config(fake_discord: FakeDiscord) -> DiscordConfig:
    return make_config(fake_discord)


def run_with_gateway(
    config: DiscordConfig,
    ingest: Any,
    dispatch: Any,
    body: Callable[[DiscordGateway], Awaitable[None]],
    *,
    timeout: float = 20.0,
) -> DiscordGateway:
    """Start the real client against the fake, wait for READY, run `body`, then close."""

    async def scenario() -> DiscordGateway:
        gateway = DiscordGateway(config, ingest, dispatch)
        task = asyncio.create_task(gateway.start())
        try:
            await gateway.wait_ready(10)
            await body(gateway)
        finally:
            await gateway.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # closing is best effort here
                await asyncio.wait_for(task, 5)
        return gateway

    return asyncio.run(asyncio.wait_for(scenario(), timeout))


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
