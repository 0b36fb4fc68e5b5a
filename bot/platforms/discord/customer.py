"""`CustomerChannel` on Discord: approved replies back to a DM or a support channel, and moderation."""

from __future__ import annotations

from typing import Any

import discord
import redis
from discord.http import MultipartParameters

from bot.events import Action, Event
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.moderation import Moderator
from bot.platforms.discord.rest import DiscordRest, describe, message_params, nonce_for
from bot.ports import PermanentFailure

MESSAGE_LIMIT = 2000


def chunks(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split a long reply on line breaks, then spaces, so no part exceeds Discord's 2,000 characters."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


class DiscordCustomerChannel:
    """Worker-side port. Build one per worker process and reuse it: it owns an HTTP client thread."""

    name = "discord"

    def __init__(
        self,
        config: DiscordConfig,
        *,
        redis_client: redis.Redis | None = None,
        rest: DiscordRest | None = None,
    ) -> None:
        self.config = config
        self.rest = rest or DiscordRest(config, redis_client=redis_client)
        self.moderator = Moderator(self.rest, config)

    def deliver_reply(self, event: Event, text: str, *, idempotency_key: str) -> str:
        parts = chunks(text)
        if not parts:
            raise PermanentFailure("empty reply")
        if event.kind == "dm" or event.metadata.get("conversation") == "dm":
            user_id = int(event.author.id)
            ids = [
                self._call_dm(user_id, part, nonce_for(f"{idempotency_key}:{index}"))
                for index, part in enumerate(parts)
            ]
            return ids[0]
        if event.channel is None:
            raise PermanentFailure("this Discord event has no channel to reply in")
        channel_id = int(event.channel)
        original = event.metadata.get("message_id")
        reply_to = int(original) if isinstance(original, str | int) and str(original).isdigit() else None
        ids = []
        for index, part in enumerate(parts):
            params = message_params(
                part,
                nonce=nonce_for(f"{idempotency_key}:{index}"),
                reply_to=reply_to if index == 0 else None,
                mention_users=(event.author.id,),
            )
            ids.append(self._send(channel_id, params))
        return ids[0]

    def _send(self, channel_id: int, params: MultipartParameters) -> str:
        message: Any = self.rest.call(lambda http: http.send_message(channel_id, params=params))
        return str(message["id"])

    def _call_dm(self, user_id: int, text: str, nonce: str) -> str:
        try:
            return self.moderator.send_dm(user_id, text, nonce=nonce)
        except discord.HTTPException as error:
            raise PermanentFailure(describe(error)) from None

    def moderate(self, event: Event, action: Action, *, reason: str, idempotency_key: str) -> None:
        self.moderator.apply(event, action, reason=reason, idempotency_key=idempotency_key)

    def close(self) -> None:
        self.rest.close()
