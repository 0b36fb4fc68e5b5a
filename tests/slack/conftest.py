"""Fixtures for the Slack adapter: a fake Slack Web API on loopback, the real Bolt app wired to it
with recording Ingest/Dispatch doubles, and a client that posts signed requests to the app's routes."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from slack_bolt import App

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from bot.platforms.slack import (  # noqa: E402
    SlackCustomerChannel,
    SlackTeamChat,
    build_app,
    build_web_client,
    slack_router,
    workspace_staff_lookup,
)
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.slack.slack_doubles import (  # noqa: E402
    CUSTOMER,
    LEA,
    TEAM_CHANNEL,
    TOM,
    WORKSPACE,
    FakeClock,
    RecordingDispatch,
    RecordingIngest,
)
from tests.slack.slack_payloads import SIGNING_SECRET, SignedPoster  # noqa: E402


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(
        users={
            LEA: {"email": "lea@example.com"},
            TOM: {"email": "tom@example.com"},
            CUSTOMER: {"email": "someone@customer.example"},
        }
    ).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def team_chat(fake_slack: FakeSlack, redis_client: redis.Redis, clock: FakeClock) -> SlackTeamChat:
    client = build_web_client(SecretStr("xoxb-test"), base_url=fake_slack.url, backoff=0.01)
    return SlackTeamChat(client, redis_client, channels={"inbox": TEAM_CHANNEL}, clock=clock)


@pytest.fixture
def customer(fake_slack: FakeSlack, redis_client: redis.Redis, clock: FakeClock) -> SlackCustomerChannel:
    client = build_web_client(SecretStr("xoxb-test"), base_url=fake_slack.url, backoff=0.01)
    return SlackCustomerChannel(client, redis_client, clock=clock)


@pytest.fixture
def ingest() -> RecordingIngest:
    return RecordingIngest()


@pytest.fixture
def dispatch() -> RecordingDispatch:
    return RecordingDispatch()


@pytest.fixture
def slack_app(
    fake_slack: FakeSlack, redis_client: redis.Redis, ingest: RecordingIngest, dispatch: RecordingDispatch
) -> App:
    return build_app(
        client=build_web_client(SecretStr("xoxb-test"), base_url=fake_slack.url, backoff=0.01),
        signing_secret=SecretStr(SIGNING_SECRET),
        ingest=ingest,
        dispatch=dispatch,
        redis=redis_client,
        staff=workspace_staff_lookup(WORKSPACE),
        team_channels={TEAM_CHANNEL},
    )


class LiveServer:
    """The web app served by uvicorn on 127.0.0.1 (ephemeral port), in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 5
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def slack(slack_app: App) -> Iterator[SignedPoster]:
    web = FastAPI()
    web.include_router(slack_router(slack_app))
    with LiveServer(web) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield SignedPoster(client)
