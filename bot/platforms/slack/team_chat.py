"""`TeamChat` on Slack: cards posted and updated in team channels, threads, pacing, flood digests.

post() never sleeps: when the channel's slot is taken it raises `RetryLater`, and when the channel
is flooded it queues the card for a digest and returns a `digest:` reference. The scheduler calls
`flush_digests()` every few seconds; each call sends at most one digest per channel, within the
same pacing as every other post, so a flood costs about one post per second and loses nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from redis import Redis
from slack_sdk import WebClient

from bot.platforms.slack import texts
from bot.platforms.slack.blocks import Message, notice, render_card
from bot.platforms.slack.client import call_slack
from bot.platforms.slack.digest import DigestQueue, render_digest
from bot.platforms.slack.pacing import ChannelPacer
from bot.ports import Card, MessageRef, PermanentFailure, RetryLater

log = logging.getLogger(__name__)

DIGEST_PREFIX = "digest:"
FLOOD_THRESHOLD = 20  # posts held back within a minute before a channel counts as flooded
DIGEST_SIZE = 100  # cards per digest post at most


def looks_like_channel_id(value: str) -> bool:
    return len(value) >= 9 and value[0] in "CGD" and value.isalnum() and value.isupper()


class SlackTeamChat:
    name = "slack"
    deduplicates = False  # Slack has no idempotency key

    def __init__(
        self,
        client: WebClient,
        redis: Redis,
        *,
        channels: Mapping[str, str] | None = None,
        lang: str = "en",
        clock: Callable[[], float] = time.time,
        interval: float = 1.0,
        flood_threshold: int = FLOOD_THRESHOLD,
        digest_size: int = DIGEST_SIZE,
        prefix: str = "vigie:slack",
    ) -> None:
        """`channels` maps vigie.yaml channel names to Slack ids (`channels.<name>.slack`)."""
        self.client = client
        self.channels = dict(channels or {})
        self.lang = lang
        self.clock = clock
        self.flood_threshold = flood_threshold
        self.digest_size = digest_size
        self.pacer = ChannelPacer(redis, interval=interval, prefix=prefix)
        self.digests = DigestQueue(redis, prefix=prefix)

    def slack_channel(self, channel: str) -> str:
        if channel in self.channels:
            return self.channels[channel]
        if looks_like_channel_id(channel):
            return channel
        raise PermanentFailure(
            f"no Slack channel for {channel!r}: set channels.{channel}.slack in vigie.yaml"
        )

    def post(
        self,
        channel: str,
        card: Card,
        *,
        thread: MessageRef | None = None,
        idempotency_key: str | None = None,
    ) -> MessageRef:
        # Slack offers no idempotency key on chat.postMessage: the applier's claim is the guard.
        target = self.slack_channel(channel)
        now = self.clock()
        thread_ts = self._thread_ts(thread)
        if self.pacer.pressure(target, now) >= self.flood_threshold:
            self.pacer.add_pressure(target, now)
            return self._queue(target, card)
        wait = self.pacer.acquire(target, now)
        if wait > 0:
            self.pacer.add_pressure(target, now)
            raise RetryLater(wait, f"slack: pacing posts to {target}")
        message = render_card(card, lang=self.lang)
        response = self._post(target, message, thread_ts, now)
        return MessageRef(
            platform=self.name,
            channel=str(response.get("channel") or target),
            message_id=str(response["ts"]),
            thread_id=thread_ts,
        )

    def update(self, ref: MessageRef, card: Card) -> None:
        if ref.message_id.startswith(DIGEST_PREFIX):
            # A card already sent inside a digest stays as it was: digests are a record, not a view.
            self.digests.replace(ref.channel, ref.message_id.removeprefix(DIGEST_PREFIX), card)
            return
        message = render_card(card, lang=self.lang)
        call_slack(
            "chat.update",
            lambda: self.client.chat_update(
                channel=ref.channel, ts=ref.message_id, text=message.text, blocks=message.blocks
            ),
        )

    def flush_digests(self, now: float | None = None) -> int:
        """Send due digests; returns how many cards went out. Called by the scheduler every few s."""
        moment = self.clock() if now is None else now
        sent = 0
        for channel in self.digests.channels():
            if self.digests.pending(channel) == 0 or self.pacer.acquire(channel, moment) > 0:
                continue
            root = self.digests.root(channel)
            if root is None:
                self._open_digest_thread(channel, moment)
                continue
            sent += self._send_digest(channel, root, moment)
        return sent

    # -- internals

    def _thread_ts(self, thread: MessageRef | None) -> str | None:
        if thread is None:
            return None
        if thread.message_id.startswith(DIGEST_PREFIX):
            return self.digests.thread_of(thread.message_id.removeprefix(DIGEST_PREFIX))
        return thread.thread_id or thread.message_id

    def _queue(self, channel: str, card: Card) -> MessageRef:
        entry_id = uuid.uuid4().hex
        self.digests.add(channel, entry_id, card)
        return MessageRef(platform=self.name, channel=channel, message_id=f"{DIGEST_PREFIX}{entry_id}")

    def _post(self, channel: str, message: Message, thread_ts: str | None, now: float) -> Any:
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            return call_slack("chat.postMessage", lambda: self.client.chat_postMessage(**kwargs))
        except RetryLater as later:
            # Every worker must back off this channel, not only the one that met the 429.
            self.pacer.hold(channel, now + later.seconds)
            raise

    def _open_digest_thread(self, channel: str, now: float) -> None:
        try:
            response = self._post(channel, notice(texts.text("digest_root", self.lang)), None, now)
        except (RetryLater, PermanentFailure) as error:
            log.warning("slack: digest thread in %s not opened: %s", channel, error)
            return
        self.digests.set_root(channel, str(response["ts"]))

    def _send_digest(self, channel: str, root: str, now: float) -> int:
        entries = self.digests.take(channel, self.digest_size)
        if not entries:
            return 0
        message, used = render_digest([entry.card for entry in entries], lang=self.lang)
        batch, rest = entries[:used], entries[used:]
        self.digests.put_back(channel, rest)
        try:
            self._post(channel, message, root, now)
        except (RetryLater, PermanentFailure) as error:
            self.digests.put_back(channel, batch)
            if isinstance(error, PermanentFailure):
                # Most likely the thread root was deleted: the next flush opens a new thread.
                self.digests.clear_root(channel)
            log.warning("slack: digest for %s postponed: %s", channel, error)
            return 0
        self.digests.touch_root(channel)
        self.digests.record(batch, root)
        return len(batch)
