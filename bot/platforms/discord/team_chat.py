"""`TeamChat` on Discord: cards as embeds with buttons, one thread per conversation."""

from __future__ import annotations

from typing import Any, Final, Literal

import discord
import redis

from bot.platforms.discord import texts
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.embeds import card_components, card_embed, clip
from bot.platforms.discord.rest import DiscordRest, message_params, nonce_for
from bot.ports import Card, MessageRef, PermanentFailure

THREAD_EXISTS = 160004  # "A thread has already been created for this message"
ARCHIVE_MINUTES: Final[Literal[10080]] = 10080  # a week: conversations outlive Discord's one-day default


class DiscordTeamChat:
    """Worker-side port. Build one per worker process and reuse it: it owns an HTTP client thread."""

    name = "discord"
    deduplicates = True  # by the message nonce derived from the key

    def __init__(
        self,
        config: DiscordConfig,
        *,
        redis_client: redis.Redis | None = None,
        rest: DiscordRest | None = None,
    ) -> None:
        self.config = config
        self.rest = rest or DiscordRest(config, redis_client=redis_client)

    def _channel(self, channel: str) -> int:
        try:
            return self.config.resolve_channel(channel)
        except KeyError:
            raise PermanentFailure(f"unknown Discord team channel {channel!r}") from None

    def post(
        self,
        channel: str,
        card: Card,
        *,
        thread: MessageRef | None = None,
        idempotency_key: str | None = None,
    ) -> MessageRef:
        """Post a card; a top-level card opens its own thread, where the conversation continues.
        `idempotency_key` (beyond the port) makes a retried post return the first message."""
        embed = card_embed(card, self.config.lang)
        components = card_components(card)
        nonce = nonce_for(idempotency_key) if idempotency_key else None
        params = message_params(embed=embed, components=components, nonce=nonce)
        if thread is not None:
            target = int(thread.thread_id or thread.message_id)
            message: Any = self.rest.call(lambda http: http.send_message(target, params=params))
            return MessageRef(
                platform="discord",
                channel=thread.channel,
                message_id=str(message["id"]),
                thread_id=str(target),
            )
        channel_id = self._channel(channel)
        message = self.rest.call(lambda http: http.send_message(channel_id, params=params))
        message_id = int(message["id"])
        return MessageRef(
            platform="discord",
            channel=str(channel_id),
            message_id=str(message_id),
            thread_id=str(self._open_thread(channel_id, message_id, card)),
        )

    def _open_thread(self, channel_id: int, message_id: int, card: Card) -> int:
        name = clip(texts.text("thread_name", self.config.lang, title=card.title), 100)
        try:
            thread: Any = self.rest.call_raw(
                lambda http: http.start_thread_with_message(
                    channel_id, message_id, name=name, auto_archive_duration=ARCHIVE_MINUTES
                )
            )
        except discord.HTTPException as error:
            # A retried post whose nonce returned the first message finds its thread already there;
            # a thread started from a message shares the message's id.
            if error.code == THREAD_EXISTS:
                return message_id
            raise PermanentFailure(f"Discord {error.status} (code {error.code}) opening a thread") from None
        return int(thread["id"])

    def update(self, ref: MessageRef, card: Card) -> None:
        params = message_params(embed=card_embed(card, self.config.lang), components=card_components(card))
        channel_id = (
            int(ref.thread_id) if ref.thread_id and ref.thread_id != ref.message_id else int(ref.channel)
        )
        message_id = int(ref.message_id)
        self.rest.call(lambda http: http.edit_message(channel_id, message_id, params=params))

    def close(self) -> None:
        self.rest.close()
