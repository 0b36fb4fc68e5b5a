"""The real discord.py client against the fake gateway: ingress, edits, AutoMod, reconnect/resume."""

from __future__ import annotations

from bot.events import Event
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.gateway import DiscordGateway
from bot.ports import IngestResult
from tests.discord import payloads
from tests.discord.conftest import (
    GENERAL,
    GUILD,
    MEMBER,
    STAFF_CHANNEL,
    STAFF_ROLE,
    RecordingDispatch,
    RecordingIngest,
    make_config,
    run_with_gateway,
    until,
)
from tests.fakes.discord_api import FakeDiscord


def test_identify_with_intents_and_ready(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    async def body(gateway: DiscordGateway) -> None:
        assert gateway.health()["status"] == "connected"
        assert {g.id for g in gateway.client.guilds} == {GUILD, 613425648685547541}

    run_with_gateway(config, RecordingIngest(), RecordingDispatch(), body)
    intents = fake_discord.identifies[0]["intents"]
    assert intents & (1 << 15)  # MESSAGE_CONTENT
    assert intents & (1 << 1)  # GUILD_MEMBERS
    assert intents & (1 << 21)  # AUTO_MODERATION_EXECUTION
    assert intents & (1 << 12)  # DIRECT_MESSAGES
    # Slash commands were registered once at start-up.
    assert len(fake_discord.find("PUT", r"^/applications/\d+/commands$")) == 1


def test_guild_message_becomes_event(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    ingest = RecordingIngest()

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch_fixture("message_create_guild.json")
        await until(lambda: len(ingest.events) == 1)

    run_with_gateway(config, ingest, RecordingDispatch(), body)
    event = ingest.events[0]
    assert event.source == "discord" and event.kind == "message"
    assert event.external_id == "334385199974967042"
    assert event.text == "Supa Hot"
    assert event.channel == str(GENERAL)
    assert event.author.id == str(MEMBER) and event.author.name == "Mason"
    assert event.metadata["guild_id"] == str(GUILD)
    assert event.metadata["conversation"] == "community"
    assert event.url == f"https://discord.com/channels/{GUILD}/{GENERAL}/334385199974967042"


def test_dm_and_support_channel_are_conversations(fake_discord: FakeDiscord) -> None:
    config = make_config(fake_discord, support_channels=[GENERAL])
    ingest = RecordingIngest()

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch_fixture("message_create_dm.json")
        fake_discord.dispatch_fixture("message_create_guild.json")
        await until(lambda: len(ingest.events) == 2)

    run_with_gateway(config, ingest, RecordingDispatch(), body)
    dm, support = sorted(ingest.events, key=lambda e: e.kind)
    assert (dm.kind, dm.thread_id, dm.channel) == ("dm", f"dm:{MEMBER}", "290926798999357299")
    assert dm.metadata["conversation"] == "dm" and "guild_id" not in dm.metadata
    assert support.metadata["conversation"] == "support"
    assert support.thread_id == f"{GENERAL}:{MEMBER}"


def test_edits_are_rechecked_and_replays_deduplicated(
    fake_discord: FakeDiscord, config: DiscordConfig
) -> None:
    ingest = RecordingIngest()
    results: list[bool] = []

    def recording(event: Event) -> IngestResult:
        result = ingest(event)
        results.append(result.duplicate)
        return result

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch("MESSAGE_CREATE", payloads.guild_message("nice day", message_id=5555))
        await until(lambda: len(results) == 1)
        edited = payloads.guild_message(
            "you are an id10t", message_id=5555, edited_timestamp="2026-01-01T10:00:00+00:00"
        )
        fake_discord.dispatch("MESSAGE_UPDATE", edited)
        fake_discord.dispatch("MESSAGE_UPDATE", edited)  # a replayed frame
        # An embed unfurl: an update without an edit.
        fake_discord.dispatch("MESSAGE_UPDATE", payloads.guild_message("nice day", message_id=5556))
        fake_discord.dispatch("MESSAGE_CREATE", payloads.guild_message("marker", message_id=5557))
        await until(lambda: len(results) == 3)

    run_with_gateway(config, recording, RecordingDispatch(), body)
    # The replayed edit is dropped (the cache already holds that text, else Ingest dedupes it by id);
    # the unfurl is not an edit.
    assert results == [False, False, False]
    assert sorted(e.text for e in ingest.events) == ["marker", "nice day", "you are an id10t"]
    edit = next(e for e in ingest.events if e.metadata.get("edit_of"))
    assert edit.external_id.startswith("5555:edit:") and edit.text == "you are an id10t"
    assert edit.metadata["edit_of"] == "5555" and edit.metadata["message_id"] == "5555"


def test_automod_executions_become_events(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    ingest = RecordingIngest()

    async def body(gateway: DiscordGateway) -> None:
        for name in (
            "auto_moderation_action_execution.json",
            "auto_moderation_action_execution_alert.json",
            "auto_moderation_action_execution_timeout.json",
        ):
            fake_discord.dispatch_fixture(name)
        await until(lambda: len(ingest.events) == 3)

    run_with_gateway(config, ingest, RecordingDispatch(), body)
    actions = sorted(str(e.metadata["automod_action"]) for e in ingest.events)
    assert actions == ["block_message", "send_alert_message", "timeout"]
    timeout = next(e for e in ingest.events if e.metadata["automod_action"] == "timeout")
    assert timeout.metadata["duration_seconds"] == 60 and timeout.metadata["matched_keyword"] == "cat*"
    assert timeout.text == "I just bought a catapult with my savings"
    assert timeout.author.id == str(MEMBER) and timeout.metadata["automod"] is True


def test_what_is_not_ingested(fake_discord: FakeDiscord) -> None:
    config = make_config(fake_discord, guilds=[613425648685547541])
    ingest = RecordingIngest()
    dispatch = RecordingDispatch()

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch_fixture("message_create_guild.json")  # guild outside the allow-list
        own = payloads.guild_message("I am the bot", guild_id="613425648685547541")
        own["author"] = {**fake_discord.bot_user}
        fake_discord.dispatch("MESSAGE_CREATE", own)
        fake_discord.dispatch(
            "MESSAGE_CREATE", payloads.guild_message("in the team channel", channel_id=str(STAFF_CHANNEL))
        )
        fake_discord.dispatch(
            "MESSAGE_CREATE", payloads.guild_message("counted", guild_id="613425648685547541")
        )
        await until(lambda: len(ingest.events) == 1)

    run_with_gateway(config, ingest, dispatch, body)
    assert [e.text for e in ingest.events] == ["counted"]
    assert not dispatch.commands


def test_staff_roles_become_vigie_roles(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    ingest = RecordingIngest()

    async def body(gateway: DiscordGateway) -> None:
        message = payloads.guild_message("hello")
        message["member"]["roles"] = [STAFF_ROLE]
        fake_discord.dispatch("MESSAGE_CREATE", message)
        await until(lambda: len(ingest.events) == 1)

    run_with_gateway(config, ingest, RecordingDispatch(), body)
    assert ingest.events[0].author.roles == ("staff", "moderator", f"discord:{STAFF_ROLE}")


def test_ingest_outage_is_retried(fake_discord: FakeDiscord, config: DiscordConfig) -> None:
    ingest = RecordingIngest()
    failures = [RuntimeError("database is locked")]

    def flaky(event: Event) -> IngestResult:
        if failures:
            raise failures.pop()
        return ingest(event)

    async def body(gateway: DiscordGateway) -> None:
        fake_discord.dispatch_fixture("message_create_guild.json")
        await until(lambda: len(ingest.events) == 1)

    run_with_gateway(config, flaky, RecordingDispatch(), body)
