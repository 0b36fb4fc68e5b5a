"""The Discord gateway process (`vigie discord`, and part of `vigie run`).

discord.py owns the connection: heartbeats, RESUME after a drop, reconnect with backoff, sharding.
This module only translates: messages, edits and AutoMod executions become `Event`s for Ingest;
thread replies, buttons, modals and slash commands become `StaffCommand`s for Dispatch. Both callables
are synchronous (SQL, Redis), so they run in threads and the heartbeat never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import discord

from bot.events import Event, JsonScalar
from bot.platforms.discord.commands import VigieTranslator, build_tree
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.events import automod_to_event, is_staff_location, message_to_event
from bot.platforms.discord.rest import point_at
from bot.platforms.discord.views import StaffActions
from bot.ports import Dispatch, Ingest

log = logging.getLogger("vigie.discord.gateway")

INGEST_ATTEMPTS = 4  # Discord never redelivers a message: a brief store outage must not lose it


def build_intents() -> discord.Intents:
    """What Vigie asks Discord for (docs/discord.md explains each to the server owner)."""
    intents = discord.Intents.default()  # guilds, guild and DM messages, reactions; nothing privileged
    intents.message_content = True  # privileged: the rulebook reads message text
    intents.members = True  # privileged: member roles for exemptions, members for timeouts
    intents.auto_moderation_execution = True  # AutoMod actions, recorded as cases
    intents.typing = False  # noise
    intents.presences = False
    return intents


class DiscordGateway:
    def __init__(self, config: DiscordConfig, ingest: Ingest, dispatch: Dispatch) -> None:
        self.config = config
        self.ingest = ingest
        self.actions = StaffActions(config, dispatch)
        point_at(config.api_url, config.gateway_url)
        options: dict[str, Any] = {
            "intents": build_intents(),
            "chunk_guilds_at_startup": False,  # members arrive with their messages; no startup storm
            "guild_ready_timeout": config.guild_ready_timeout,
            "max_messages": 1000,
        }
        self.client: discord.Client
        if config.shard_count:
            if config.shard_ids is not None:
                options["shard_ids"] = list(config.shard_ids)
            self.client = discord.AutoShardedClient(shard_count=config.shard_count, **options)
        else:
            self.client = discord.Client(**options)
        self.tree = build_tree(self.client, self.actions)
        self.ready = asyncio.Event()
        self.stats: dict[str, int] = {
            "connects": 0,
            "disconnects": 0,
            "resumes": 0,
            "ready": 0,
            "ingested": 0,
            "duplicates": 0,
            "ingest_failures": 0,
            "commands": 0,
        }
        self.connected = False
        self.last_event_at: datetime | None = None
        self._started = time.monotonic()
        self._tasks: set[asyncio.Task[Any]] = set()
        for handler in (
            self.on_connect,
            self.on_disconnect,
            self.on_ready,
            self.on_resumed,
            self.on_message,
            self.on_raw_message_edit,
            self.on_automod_action,
            self.on_interaction,
        ):
            self.client.event(handler)

    # lifecycle

    async def start(self) -> None:
        """Log in, register slash commands, then run the gateway until `close()`."""
        await self.client.login(self.config.token_value())
        await self.setup()
        await self.client.connect(reconnect=True)

    async def setup(self) -> None:
        await self.tree.set_translator(VigieTranslator())
        if not self.config.sync_commands:
            return
        try:
            if self.config.command_guilds:
                for guild_id in self.config.command_guilds:
                    guild = discord.Object(id=guild_id)
                    self.tree.copy_global_to(guild=guild)
                    await self.tree.sync(guild=guild)
            else:
                await self.tree.sync()
        except discord.HTTPException:
            # Commands already registered keep working; the gateway must not stay down for this.
            log.exception("could not register slash commands")

    async def close(self) -> None:
        await self.client.close()

    async def wait_ready(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    def health(self) -> dict[str, JsonScalar]:
        """For /healthz: connection state and the reconnect/resume counters discord.py drives."""
        latency = self.client.latency
        data: dict[str, JsonScalar] = {
            "status": "connected" if self.connected and self.ready.is_set() else "disconnected",
            "ready": self.ready.is_set(),
            "latency_ms": round(latency * 1000, 1)
            if latency == latency and latency != float("inf")
            else None,
            "guilds": len(self.client.guilds),
            "shards": self.config.shard_count or 1,
            "last_event_at": self.last_event_at.isoformat() if self.last_event_at else None,
            "uptime_s": round(time.monotonic() - self._started, 1),
        }
        data.update(self.stats)
        return data

    # connection events: discord.py reconnects and resumes by itself; these make it visible

    async def on_connect(self) -> None:
        self.connected = True
        self.stats["connects"] += 1
        log.info("discord gateway connected")

    async def on_disconnect(self) -> None:
        self.connected = False
        self.stats["disconnects"] += 1
        log.warning("discord gateway disconnected; discord.py will reconnect and resume")

    async def on_ready(self) -> None:
        self.connected = True
        self.stats["ready"] += 1
        self.ready.set()
        user = self.client.user
        log.info(
            "discord gateway ready as %s in %d guild(s)", user.id if user else "?", len(self.client.guilds)
        )

    async def on_resumed(self) -> None:
        self.connected = True
        self.stats["resumes"] += 1
        log.info("discord gateway session resumed")

    # ingress

    def _touch(self) -> None:
        self.last_event_at = datetime.now(UTC)

    async def ingest_event(self, event: Event) -> None:
        delay = 0.25
        for attempt in range(1, INGEST_ATTEMPTS + 1):
            try:
                result = await asyncio.to_thread(self.ingest, event)
            except Exception:
                log.warning("ingest of %s failed (attempt %d)", event.id, attempt, exc_info=True)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            self.stats["duplicates" if result.duplicate else "ingested"] += 1
            return
        self.stats["ingest_failures"] += 1
        # Last resort: the event in the log, so an operator can replay it with `vigie ingest`.
        log.error("event lost to ingest, replay it: %s", event.model_dump_json())

    async def on_message(self, message: discord.Message) -> None:
        self._touch()
        if message.author.bot or message.author == self.client.user:
            return
        if message.guild is not None and not self.config.guild_allowed(message.guild.id):
            return
        if is_staff_location(message.channel, self.config):
            if isinstance(message.channel, discord.Thread):
                self.stats["commands"] += 1
                await self.actions.on_thread_reply(message)
            return
        event = message_to_event(message, self.config)
        if event is not None:
            await self.ingest_event(event)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Raw, not `on_message_edit`: the cache holds 1,000 messages, and an edit of an older one must
        be re-checked too. Embed unfurls also arrive as updates: only a changed text counts."""
        self._touch()
        message = payload.message
        if message.edited_at is None:
            return
        before = payload.cached_message
        if before is not None and before.content == message.content:
            return
        if is_staff_location(message.channel, self.config):
            return
        event = message_to_event(message, self.config, edited=True)
        if event is not None:
            await self.ingest_event(event)

    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        self._touch()
        event = automod_to_event(execution, self.config)
        if event is not None:
            await self.ingest_event(event)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        self._touch()
        if interaction.type in (discord.InteractionType.component, discord.InteractionType.modal_submit):
            if interaction.guild_id is not None and not self.config.guild_allowed(interaction.guild_id):
                return
            self.stats["commands"] += 1
            try:
                await self.actions.on_interaction(interaction)
            except discord.HTTPException:
                log.exception("answering an interaction failed")


async def run_gateway(config: DiscordConfig, ingest: Ingest, dispatch: Dispatch) -> None:
    """Run the gateway until cancelled: what `vigie discord` calls."""
    gateway = DiscordGateway(config, ingest, dispatch)
    try:
        await gateway.start()
    finally:
        await gateway.close()
