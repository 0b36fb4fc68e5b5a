"""End to end: the real discord.py gateway client and the worker-side ports against the fake Discord,
with a core double in between (tests/discord/core_double.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.customer import DiscordCustomerChannel
from bot.platforms.discord.gateway import DiscordGateway
from bot.platforms.discord.rest import DiscordRest
from bot.platforms.discord.team_chat import DiscordTeamChat
from tests.discord import payloads
from tests.discord.conftest import (
    GENERAL,
    MEMBER,
    MOD_LOG,
    STAFF_CHANNEL,
    RecordingDispatch,
    RecordingIngest,
    run_with_gateway,
    until,
)
from tests.discord.core_double import CoreDouble
from tests.fakes.discord_api import FakeDiscord


@pytest.fixture
def core(config: DiscordConfig, redis_client: redis.Redis) -> Iterator[CoreDouble]:
    rest = DiscordRest(config, redis_client=redis_client)
    try:
        yield CoreDouble(DiscordTeamChat(config, rest=rest), DiscordCustomerChannel(config, rest=rest))
    finally:
        rest.close()


def test_insult_is_hidden_with_reason_logged_and_warned(
    fake_discord: FakeDiscord, config: DiscordConfig, core: CoreDouble
) -> None:
    ingest = RecordingIngest(core.on_event)

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch("MESSAGE_CREATE", payloads.guild_message("t'es un c0nnard", message_id=1111))
        await until(lambda: len(fake_discord.find("POST", r"^/channels/\d+/messages$")) >= 3)

    run_with_gateway(config, ingest, RecordingDispatch(), body)
    assert not core.errors
    [delete] = fake_discord.find("DELETE", rf"^/channels/{GENERAL}/messages/1111$", status=204)
    assert delete.reason == "insults: insult aimed at a person"
    modlog, warn_log = fake_discord.find("POST", rf"^/channels/{MOD_LOG}/messages$")
    assert warn_log.json["embeds"][0]["title"] == "Case #1 · warning"
    embed = modlog.json["embeds"][0]
    assert embed["title"] == "Case #1 · message hidden"
    assert "t'es un c0nnard" in embed["description"]  # hide keeps a copy
    assert modlog.json["allowed_mentions"] == {"parse": [], "users": []}
    assert fake_discord.find("POST", r"^/users/@me/channels$")[0].json == {"recipient_id": MEMBER}
    [warning] = fake_discord.find("POST", r"^/channels/290926798999357299/messages$")  # the DM channel
    assert "Merci de rester courtois." in warning.json["content"]
    assert "1 in total" in warning.json["content"]
    assert warning.json["enforce_nonce"] is True


def test_flood_times_the_member_out(
    fake_discord: FakeDiscord, config: DiscordConfig, core: CoreDouble
) -> None:
    ingest = RecordingIngest(core.on_event)

    async def body(gateway: DiscordGateway) -> None:
        for n in range(5):
            fake_discord.dispatch(
                "MESSAGE_CREATE", payloads.guild_message(f"buy now {n}", message_id=2000 + n)
            )
        await until(lambda: bool(fake_discord.find("PATCH", r"^/guilds/\d+/members/\d+$")))

    run_with_gateway(config, ingest, RecordingDispatch(), body)
    [patch] = fake_discord.find("PATCH", rf"^/guilds/290926798626357999/members/{MEMBER}$")
    until_ts = datetime.fromisoformat(patch.json["communication_disabled_until"])
    assert timedelta(minutes=9) < until_ts - datetime.now(UTC) <= timedelta(minutes=10)
    assert patch.reason == "flood: 5 messages within 10s"
    modlog = fake_discord.find("POST", rf"^/channels/{MOD_LOG}/messages$")
    assert modlog[-1].json["embeds"][0]["title"].endswith("· timeout")


def test_dm_card_thread_draft_approval_reply(
    fake_discord: FakeDiscord, config: DiscordConfig, core: CoreDouble
) -> None:
    ingest = RecordingIngest(core.on_event)
    dispatch = RecordingDispatch(core.dispatch)

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch_fixture("message_create_dm.json")
        await until(lambda: len(fake_discord.find("POST", r"/threads$", status=201)) == 1)
        [card] = fake_discord.find("POST", rf"^/channels/{STAFF_CHANNEL}/messages$")
        assert card.json["embeds"][0]["description"].startswith("Hi, my order #1234")
        assert card.json["components"][0]["components"][1]["custom_id"] == "vigie:reply:case-1"
        thread_id = next(iter(fake_discord.threads))
        await until(lambda: gateway.client.get_channel(int(thread_id)) is not None)
        # A staff member answers in the card's thread: a draft, not a message to the customer.
        fake_discord.dispatch(
            "MESSAGE_CREATE", payloads.thread_message(thread_id, "We are sending a new one today.")
        )
        await until(lambda: len(fake_discord.find("POST", rf"^/channels/{thread_id}/messages$")) == 2)
        assert not fake_discord.find("POST", r"^/channels/290926798999357299/messages$")
        draft_card = fake_discord.find("POST", rf"^/channels/{thread_id}/messages$")[0]
        approve = draft_card.json["components"][0]["components"][0]
        assert approve["custom_id"] == "vigie:approve:d1"
        message = fake_discord.messages[
            next(m for m in fake_discord.messages if fake_discord.messages[m]["channel_id"] == thread_id)
        ]
        fake_discord.dispatch("INTERACTION_CREATE", payloads.click(approve["custom_id"], message))
        await until(lambda: bool(fake_discord.find("POST", r"^/webhooks/")))

    run_with_gateway(config, ingest, dispatch, body)
    assert not core.errors
    assert [c.verb for c in dispatch.commands] == ["draft", "approve"]
    assert dispatch.commands[1].args["draft_id"] == "d1"
    [reply] = fake_discord.find("POST", r"^/channels/290926798999357299/messages$")
    assert reply.json["content"] == "We are sending a new one today."
    assert reply.json["enforce_nonce"] is True
    [callback] = fake_discord.find("POST", r"^/interactions/\d+/[\w-]+/callback$")
    assert callback.json["type"] == 5 and callback.json["data"]["flags"] == 64  # deferred, ephemeral
    assert fake_discord.find("POST", r"^/webhooks/")[0].json["content"] == "Reply sent."
    # The thread reply got the core's answer, in the thread.
    answers = [
        c
        for c in fake_discord.find("POST", r"^/channels/\d+/messages$")
        if c.json.get("content") == "Draft saved; it is sent only after approval."
    ]
    assert len(answers) == 1


def test_slash_command_is_dispatched_and_answered(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    dispatch = RecordingDispatch()

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch(
            "INTERACTION_CREATE",
            payloads.subcommand("vigie", "case", [{"type": 3, "name": "case", "value": "C-42"}], locale="fr"),
        )
        await until(lambda: bool(fake_discord.find("POST", r"^/webhooks/")))

    run_with_gateway(config, RecordingIngest(), dispatch, body)
    [command] = dispatch.commands
    assert (command.door, command.verb, command.actor) == ("discord", "case", "53908232506183680")
    assert command.args["case_id"] == "C-42" and command.args["lang"] == "fr"
    assert command.args["roles"] == ["staff", "moderator", "discord:539082325061836999"]
    [callback] = fake_discord.find("POST", r"/callback$")
    assert callback.json["type"] == 5
    [followup] = fake_discord.find("POST", r"^/webhooks/775799577604522054/")
    assert followup.json["content"] == "ok: case" and followup.json["flags"] == 64


def test_moderation_command_needs_a_moderator_role(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    dispatch = RecordingDispatch()
    option, resolved = payloads.member_option("member", MEMBER)

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch(
            "INTERACTION_CREATE",
            payloads.slash(
                "warn", [option, {"type": 3, "name": "reason", "value": "spam"}], resolved=resolved, roles=[]
            ),
        )
        fake_discord.dispatch(
            "INTERACTION_CREATE",
            payloads.slash(
                "warn",
                [
                    option,
                    {"type": 3, "name": "reason", "value": "spam"},
                    {"type": 4, "name": "points", "value": 2},
                ],
                resolved=resolved,
            ),
        )
        await until(lambda: len(fake_discord.find("POST", r"/callback$")) == 2 and bool(dispatch.commands))
        await until(lambda: bool(fake_discord.find("POST", r"^/webhooks/")))

    run_with_gateway(config, RecordingIngest(), dispatch, body)
    denied = [c for c in fake_discord.find("POST", r"/callback$") if c.json["type"] == 4]
    assert denied[0].json["data"]["content"] == "You don't have a role that allows this command."
    [command] = dispatch.commands
    assert command.verb == "warn"
    assert command.args["member"] == str(MEMBER) and command.args["points"] == 2
    assert command.args["reason"] == "spam"


def test_appeal_is_open_to_members(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    dispatch = RecordingDispatch()

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch(
            "INTERACTION_CREATE",
            payloads.slash(
                "appeal",
                [
                    {"type": 3, "name": "text", "value": "It was a joke"},
                    {"type": 4, "name": "case", "value": 7},
                ],
                roles=[],
            ),
        )
        await until(lambda: bool(fake_discord.find("POST", r"^/webhooks/")))

    run_with_gateway(config, RecordingIngest(), dispatch, body)
    [command] = dispatch.commands
    assert command.verb == "appeal" and command.args["case_number"] == 7
    assert command.args["text"] == "It was a joke"


def test_button_click_after_restart(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    """Buttons hold their meaning in the custom_id: a card posted before a restart still works."""
    dispatch = RecordingDispatch()
    card = fake_discord.message(
        str(STAFF_CHANNEL),
        components=[
            {
                "type": 1,
                "components": [{"type": 2, "style": 2, "label": "Take", "custom_id": "vigie:take:case-9"}],
            }
        ],
    )

    async def noop(gateway: DiscordGateway) -> None:
        return None

    run_with_gateway(config, RecordingIngest(), RecordingDispatch(), noop)

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch("INTERACTION_CREATE", payloads.click("vigie:take:case-9", card))
        await until(lambda: bool(fake_discord.find("POST", r"^/webhooks/")))

    run_with_gateway(config, RecordingIngest(), dispatch, body)
    [command] = dispatch.commands
    assert command.verb == "take" and command.args["case_id"] == "case-9"
    assert command.args["card_message_id"] == card["id"]


def test_edit_button_opens_a_prefilled_modal_and_submits(
    fake_discord: FakeDiscord, config: DiscordConfig
) -> None:
    dispatch = RecordingDispatch()
    card = fake_discord.message(
        str(STAFF_CHANNEL), embeds=[{"type": "rich", "title": "Draft", "description": "Old text"}]
    )

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch("INTERACTION_CREATE", payloads.click("vigie:edit:d7", card))
        await until(lambda: bool(fake_discord.find("POST", r"/callback$")))
        fake_discord.dispatch(
            "INTERACTION_CREATE",
            payloads.interaction(
                5,
                {
                    "custom_id": "vigie:edit-submit:d7",
                    "components": [
                        {"type": 1, "components": [{"type": 4, "custom_id": "text", "value": "New text"}]}
                    ],
                },
            ),
        )
        await until(lambda: bool(dispatch.commands))

    run_with_gateway(config, RecordingIngest(), dispatch, body)
    modal = fake_discord.find("POST", r"/callback$")[0].json
    assert modal["type"] == 9 and modal["data"]["custom_id"] == "vigie:edit-submit:d7"
    assert "Old text" in str(modal["data"]["components"])
    [command] = dispatch.commands
    assert (command.verb, command.args["draft_id"], command.args["text"]) == ("edit", "d7", "New text")


def test_reconnect_resumes_and_replays(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    ingest = RecordingIngest()
    seen: dict[str, Any] = {}

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.drop_connection()
        await until(lambda: gateway.stats["disconnects"] >= 1)
        fake_discord.dispatch("MESSAGE_CREATE", payloads.guild_message("sent while we were away"))
        await until(lambda: gateway.stats["resumes"] == 1, timeout=10)
        await until(lambda: len(ingest.events) == 1)
        seen.update(gateway.health())

    run_with_gateway(config, ingest, RecordingDispatch(), body)
    assert len(fake_discord.identifies) == 1  # resumed, not re-identified
    assert fake_discord.resumes[0]["session_id"] == "fake-session-1"
    assert ingest.events[0].text == "sent while we were away"
    assert seen["resumes"] == 1 and seen["status"] == "connected"


def test_rate_limited_followup_is_retried(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    dispatch = RecordingDispatch()

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.rate_limit_next(1, retry_after=0.05, match="/webhooks/")
        fake_discord.dispatch(
            "INTERACTION_CREATE",
            payloads.subcommand("vigie", "take", [{"type": 3, "name": "case", "value": "C-1"}]),
        )
        await until(lambda: bool(fake_discord.find("POST", r"^/webhooks/")))
        await asyncio.sleep(0)

    run_with_gateway(config, RecordingIngest(), dispatch, body)
    statuses = [c.status for c in fake_discord.find("POST", r"^/webhooks/", status=None)]
    assert statuses == [429, 200]
