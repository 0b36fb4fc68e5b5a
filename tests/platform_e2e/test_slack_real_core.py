"""End to end through the REAL core (Ingestor, Dispatcher, worker, applier) for Slack: signed Events
API / interactivity requests go to the real HTTP app; what reaches the fake Slack Web API is checked."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.dispatch import Dispatcher  # noqa: E402
from bot.httpserver import ServerThread  # noqa: E402
from bot.jobs import install_runtime  # noqa: E402
from bot.ports import StaffCommand  # noqa: E402
from bot.queue import run_worker  # noqa: E402
from bot.runtime import Runtime, build_runtime  # noqa: E402
from bot.server import make_app, slack_bolt_app  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from tests.fakes.slack_api import BOT_USER_ID, Call, FakeSlack  # noqa: E402
from tests.slack.slack_payloads import (  # noqa: E402
    SIGNING_SECRET,
    SignedPoster,
    block_action,
    channel_message,
    event_callback,
)

TEAM = "CTEAMINBOX"
CUSTOMER_CHANNEL = "CEXTCUST01"
CUSTOMER = "UCUSTOMER1"
SAMIR = "USAMIR0001"
TOM = "UTOM000001"
CAMILLE = "UCAMILLE01"
LEA = "ULEA000001"
ORIGIN_TS = "1700000100.000100"

WORKSPACE_YAML = f"""\
language: en
channels:
  inbox: {{slack: {TEAM}}}
default_channel: inbox
teams:
  community: {{channel: inbox, lead: camille}}
  after-sales: {{channel: inbox, lead: camille}}
staff:
  camille: {{name: Camille, roles: [lead, approver, admin], teams: [community, after-sales],
            slack: {CAMILLE}}}
  samir:   {{name: Samir, roles: [agent], teams: [after-sales], slack: {SAMIR}}}
  tom:     {{name: Tom, roles: [agent, approver], teams: [after-sales, community], slack: {TOM}}}
  lea:     {{name: Léa, roles: [agent], teams: [community], slack: {LEA}}}
approval:
  roles: [approver, lead]
  expire_after: 24h
"""


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(users={CUSTOMER: {"email": "someone@customer.example"}}).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def runtime(
    tmp_path: Path, sqlite_url: str, redis_url: str, redis_client: object, fake_slack: FakeSlack
) -> Iterator[Runtime]:
    workspace = tmp_path / "vigie.yaml"
    workspace.write_text(WORKSPACE_YAML, encoding="utf-8")
    settings = load_settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        redis_url=redis_url,
        workspace=workspace,
        slack={"bot_token": "xoxb-test", "signing_secret": SIGNING_SECRET, "api_url": fake_slack.url},
    )
    rt = build_runtime(settings)
    install_runtime(rt)
    try:
        yield rt
    finally:
        install_runtime(None)
        rt.close()


@pytest.fixture
def slack(runtime: Runtime) -> Iterator[SignedPoster]:
    bolt = slack_bolt_app(runtime)
    assert bolt is not None
    server = ServerThread(make_app(runtime, bolt), "127.0.0.1", 0)
    server.start()
    server.wait_started()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
            yield SignedPoster(client)
    finally:
        server.stop()


def work(runtime: Runtime, timeout: float = 30.0) -> None:
    """Burst worker until nothing is queued or scheduled: the desk enqueues effects 1 s after its commit
    (bot/casework/wiring.py AFTER_COMMIT_DELAY), so scheduled jobs are moved in once they are due.
    Slack's per-channel pacing (1 post/s) defers posts that follow each other in one channel, each
    deferral a scheduled job: 8 s was exceeded once in a full CI run on a loaded machine."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from bot.queue import QUEUES

    client = runtime.redis.client
    deadline = time.monotonic() + timeout
    while True:
        run_worker(client, burst=True, with_scheduler=False)
        waiting = False
        for name in QUEUES:
            queue = Queue(name, connection=client)
            registry = ScheduledJobRegistry(queue=queue)
            if registry.get_jobs_to_schedule(int(time.time()) + 3):  # SLA timers stay for later
                waiting = True
            for job_id in registry.get_jobs_to_schedule(int(time.time()) + 1):
                registry.remove(job_id)
                queue.enqueue_job(Job.fetch(job_id, connection=client))
        if not waiting:
            return
        if time.monotonic() > deadline:
            due = {
                name: ScheduledJobRegistry(queue=Queue(name, connection=client)).get_jobs_to_schedule(
                    int(time.time()) + 3
                )
                for name in QUEUES
            }
            raise AssertionError(f"scheduled jobs still waiting: {due}")
        time.sleep(0.1)


def wait_until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def button(blocks: list[dict[str, Any]], verb: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements") or []:
            if str(element.get("action_id", "")).removeprefix("vigie:").split(":")[0] == verb:
                return element
    raise AssertionError(f"no {verb} button in {blocks}")


def flat(call: Call) -> str:
    return repr(call.params)


def customer_message_to_card(runtime: Runtime, slack: SignedPoster, fake_slack: FakeSlack) -> str:
    """A customer writes in a non-team channel: stored, queued, card in the team channel. The card's ts."""
    message = channel_message(
        channel=CUSTOMER_CHANNEL,
        user=CUSTOMER,
        text="My parcel never arrived, I want a refund for order 4521",
        ts=ORIGIN_TS,
    )
    response = slack.event(event_callback(message, event_id="Ev0CUST0001"))
    assert response.status_code == 200, response.text
    with runtime.store.unit() as unit:  # persisted before the ack
        assert unit.session.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
    work(runtime)
    with runtime.store.unit() as unit:  # the refund rule routed it: a case for after-sales
        assert unit.session.execute(text("SELECT team FROM cases")).scalars().all() == ["after-sales"]
    cards = fake_slack.posts(TEAM)
    assert len(cards) == 1, [c.params for c in fake_slack.calls]
    assert "4521" in flat(cards[0])
    assert not cards[0].params.get("thread_ts")
    assert not fake_slack.posts(CUSTOMER_CHANNEL)
    return _ts_of(fake_slack, cards[0])


def approve_flow(runtime: Runtime, slack: SignedPoster, fake_slack: FakeSlack, card_ts: str) -> None:
    """From the draft card in the card's thread: samir's own Approve is refused, tom's delivers."""
    drafts = wait_until(lambda: [c for c in fake_slack.posts(TEAM) if c.params.get("thread_ts") == card_ts])
    assert len(drafts) == 1, [c.params for c in fake_slack.posts(TEAM)]
    draft = drafts[0]
    assert "parcel left our warehouse" in flat(draft)
    assert not fake_slack.posts(CUSTOMER_CHANNEL)  # a draft is internal
    draft_ts = _ts_of(fake_slack, draft)
    approve = button(draft.params["blocks"], "approve")

    def click(user: str) -> None:
        response = slack.interaction(
            block_action(
                action_id=approve["action_id"],
                value=approve["value"],
                user=user,
                channel=TEAM,
                message_ts=draft_ts,
                thread_ts=card_ts,
                response_url=fake_slack.response_url(user),
                blocks=draft.params["blocks"],
            )
        )
        assert response.status_code == 200, response.text

    # Samir may not approve his own draft: told so, privately; nothing sent, nothing queued for him.
    click(SAMIR)
    wait_until(
        lambda: [
            c
            for c in fake_slack.of("chat.postEphemeral")
            if c.params.get("user") == SAMIR and "a second person must approve it" in c.params.get("text", "")
        ]
    )
    work(runtime)
    assert not fake_slack.posts(CUSTOMER_CHANNEL)
    assert not [c for c in fake_slack.of("chat.update") if c.params.get("ts") == draft_ts]

    # Tom approves: the click's lazy listener dispatches; after the effects job, the reply is in the
    # customer's thread and the draft card is updated.
    click(TOM)
    deadline = time.monotonic() + 10
    while not fake_slack.posts(CUSTOMER_CHANNEL) and time.monotonic() < deadline:
        work(runtime)
        time.sleep(0.05)
    delivered = fake_slack.posts(CUSTOMER_CHANNEL)
    assert len(delivered) == 1, [c.params for c in fake_slack.calls]
    assert delivered[0].params.get("thread_ts") == ORIGIN_TS
    assert "parcel left our warehouse" in flat(delivered[0])
    updated = wait_until(lambda: [c for c in fake_slack.of("chat.update") if c.params.get("ts") == draft_ts])
    assert updated, [c.params for c in fake_slack.of("chat.update")]
    assert not button_or_none(updated[-1].params.get("blocks") or [], "approve")


def test_customer_message_to_card_draft_approve_and_delivery(
    runtime: Runtime, slack: SignedPoster, fake_slack: FakeSlack
) -> None:
    card_ts = customer_message_to_card(runtime, slack, fake_slack)
    # Samir answers in the card's thread: a draft card in the thread, nothing to the customer.
    reply = channel_message(
        channel=TEAM,
        user=SAMIR,
        text="Hello, your parcel left our warehouse yesterday; tracking follows.",
        ts="1700000200.000200",
        thread_ts=card_ts,
        parent_user_id=BOT_USER_ID,
    )
    response = slack.event(event_callback(reply, event_id="Ev0DRAFT001"))
    assert response.status_code == 200, response.text
    assert not [c for c in fake_slack.of("chat.postEphemeral") if "Missing" in flat(c)], "draft refused"
    # The thread reply is dispatched by Bolt after the ack: run the effects job once it is queued.
    deadline = time.monotonic() + 10
    while not [c for c in fake_slack.posts(TEAM) if c.params.get("thread_ts") == card_ts]:
        assert time.monotonic() < deadline, "no draft card"
        work(runtime)
        time.sleep(0.05)
    approve_flow(runtime, slack, fake_slack, card_ts)


def test_approve_flow_with_draft_located_by_platform(
    runtime: Runtime, slack: SignedPoster, fake_slack: FakeSlack
) -> None:
    """The same flow, with the draft proposed through the real Dispatcher carrying the location the
    core expects (what the Slack adapter should send); everything else goes through Slack's doors."""
    card_ts = customer_message_to_card(runtime, slack, fake_slack)
    result = Dispatcher(runtime)(
        StaffCommand(
            door="slack",
            actor=SAMIR,
            verb="draft",
            args={
                "platform": "slack",
                "channel": TEAM,
                "thread_ts": card_ts,
                "message_ts": "1700000200.000200",
                "text": "Hello, your parcel left our warehouse yesterday; tracking follows.",
                "slack_user": SAMIR,
            },
        )
    )
    assert result.ok, result.message
    work(runtime)
    approve_flow(runtime, slack, fake_slack, card_ts)


def button_or_none(blocks: list[dict[str, Any]], verb: str) -> dict[str, Any] | None:
    try:
        return button(blocks, verb)
    except AssertionError:
        return None


def _ts_of(fake: FakeSlack, call: Call) -> str:
    """The ts the fake answered for a chat.postMessage call: it hands ts out in call order to
    chat.postMessage and chat.postEphemeral alike."""
    index = 0
    for made in fake.calls:
        if made.method in ("chat.postMessage", "chat.postEphemeral"):
            index += 1
        if made is call:
            return f"1700000000.{index:06d}"
    raise AssertionError("call not found")
