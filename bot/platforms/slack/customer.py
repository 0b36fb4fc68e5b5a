"""`CustomerChannel` on Slack, for customers and communities in Slack Connect or shared channels
and DMs to the bot: an approved reply goes into the thread of the customer's message.

Slack lets an app post and warn (an ephemeral note only the member sees), not delete, hide, time
out or ban a member's message with a bot token: those end as a visible `PermanentFailure`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from slack_sdk import WebClient

from bot.events import Action, Event
from bot.platforms.slack import texts
from bot.platforms.slack.blocks import escape
from bot.platforms.slack.client import call_slack
from bot.platforms.slack.ingress import SOURCE
from bot.platforms.slack.pacing import ChannelPacer
from bot.ports import PermanentFailure, RetryLater

DELIVERED_TTL = 30 * 24 * 3600


class SlackCustomerChannel:
    name = "slack"

    def __init__(
        self,
        client: WebClient,
        redis: Redis,
        *,
        clock: Callable[[], float] = time.time,
        interval: float = 1.0,
        lang: str = "en",
        prefix: str = "vigie:slack",
    ) -> None:
        self.client = client
        self.lang = lang
        self.redis = redis
        self.clock = clock
        self.prefix = prefix
        # Same keys as SlackTeamChat's pacer: replies and cards share one channel's budget.
        self.pacer = ChannelPacer(redis, interval=interval, prefix=prefix)

    def deliver_reply(self, event: Event, text: str, *, idempotency_key: str) -> str:
        channel = self._channel(event)
        key = f"{self.prefix}:delivered:{idempotency_key}"
        done = self.redis.get(key)
        if done is not None:
            # Posted before, and the applier did not get to record it: never send a reply twice.
            return done.decode() if isinstance(done, bytes) else str(done)
        now = self.clock()
        wait = self.pacer.acquire(channel, now)
        if wait > 0:
            raise RetryLater(wait, f"slack: pacing posts to {channel}")
        kwargs: dict[str, Any] = {"channel": channel, "text": escape(text), "unfurl_links": False}
        thread_ts = self._thread_ts(event)
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            response = call_slack("chat.postMessage", lambda: self.client.chat_postMessage(**kwargs))
        except RetryLater as later:
            self.pacer.hold(channel, now + later.seconds)
            raise
        ts = str(response["ts"])
        self.redis.set(key, ts, ex=DELIVERED_TTL)
        return ts

    def moderate(self, event: Event, action: Action, *, reason: str, idempotency_key: str) -> None:
        channel = self._channel(event)
        if action.type != "warn":
            raise PermanentFailure(
                texts.text("cannot_moderate", self.lang, action=action.type, reason=reason)
            )
        key = f"{self.prefix}:warned:{idempotency_key}"
        if self.redis.get(key) is not None:
            return
        message = str(action.params.get("message") or reason)
        kwargs: dict[str, Any] = {"channel": channel, "user": event.author.id, "text": escape(message)}
        thread_ts = event.metadata.get("thread_ts")
        if isinstance(thread_ts, str) and thread_ts != event.metadata.get("ts"):
            kwargs["thread_ts"] = thread_ts
        call_slack("chat.postEphemeral", lambda: self.client.chat_postEphemeral(**kwargs))
        self.redis.set(key, "1", ex=DELIVERED_TTL)

    def _channel(self, event: Event) -> str:
        if event.source != SOURCE or not event.channel:
            raise PermanentFailure(f"event {event.id} did not come from a Slack channel")
        return event.channel

    @staticmethod
    def _thread_ts(event: Event) -> str | None:
        thread_ts = event.metadata.get("thread_ts")
        if event.metadata.get("channel_type") == "im" and thread_ts == event.metadata.get("ts"):
            return None  # in a DM, a top-level message is answered top-level
        return str(thread_ts) if thread_ts else None
