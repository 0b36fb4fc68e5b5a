"""Flood coalescing: while a channel is flooded, cards wait in a Redis queue and go out as digest
posts (one line per card) in a thread, at the pace the channel allows. An entry leaves the queue
only inside a digest that Slack accepted; a failed post puts its entries back, so no event is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from bot.platforms.slack import texts
from bot.platforms.slack.blocks import MAX_BLOCKS, SECTION_TEXT, Block, Message, clip, escape, link
from bot.ports import Card

ROOT_TTL = 3600  # a flood quiet for an hour starts a new thread next time
ENTRY_TTL = 7 * 24 * 3600
LINE_TEXT = 160  # characters of each event's text in a digest line
URL_IN_LINE = 500  # longer links are left out of a digest line; the card title still names the event

_TAKE = """
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then
  redis.call('SREM', KEYS[3], ARGV[2])
  return {}
end
local out = {}
for _, id in ipairs(ids) do
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[2], id) or '')
  redis.call('HDEL', KEYS[2], id)
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
end
return out
"""

_REPLACE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Entry:
    id: str
    card: Card


class DigestQueue:
    def __init__(self, redis: Redis, *, prefix: str = "vigie:slack") -> None:
        self.redis = redis
        self.prefix = prefix
        self._take = redis.register_script(_TAKE)
        self._replace = redis.register_script(_REPLACE)

    def _list(self, channel: str) -> str:
        return f"{self.prefix}:digest:{channel}:ids"

    def _cards(self, channel: str) -> str:
        return f"{self.prefix}:digest:{channel}:cards"

    @property
    def _channels(self) -> str:
        return f"{self.prefix}:digest:channels"

    def add(self, channel: str, entry_id: str, card: Card) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._cards(channel), entry_id, card.model_dump_json())
        pipe.rpush(self._list(channel), entry_id)
        pipe.sadd(self._channels, channel)
        pipe.execute()

    def replace(self, channel: str, entry_id: str, card: Card) -> bool:
        """Update a card still waiting for its digest; False once it went out."""
        return bool(self._replace(keys=[self._cards(channel)], args=[entry_id, card.model_dump_json()]))

    def take(self, channel: str, count: int) -> list[Entry]:
        raw = self._take(
            keys=[self._list(channel), self._cards(channel), self._channels], args=[count, channel]
        )
        entries: list[Entry] = []
        for index in range(0, len(raw), 2):
            entry_id = _text(raw[index])
            payload = _text(raw[index + 1])
            if payload:
                entries.append(Entry(entry_id, Card.model_validate_json(payload)))
        return entries

    def put_back(self, channel: str, entries: list[Entry]) -> None:
        if not entries:
            return
        pipe = self.redis.pipeline(transaction=True)
        for entry in entries:
            pipe.hset(self._cards(channel), entry.id, entry.card.model_dump_json())
        pipe.lpush(self._list(channel), *[entry.id for entry in reversed(entries)])
        pipe.sadd(self._channels, channel)
        pipe.execute()

    def channels(self) -> list[str]:
        return sorted(_text(member) for member in self.redis.smembers(self._channels))

    def pending(self, channel: str) -> int:
        return int(self.redis.llen(self._list(channel)))

    def root(self, channel: str) -> str | None:
        value = self.redis.get(f"{self.prefix}:digest:{channel}:root")
        return _text(value) if value is not None else None

    def set_root(self, channel: str, ts: str) -> None:
        self.redis.set(f"{self.prefix}:digest:{channel}:root", ts, ex=ROOT_TTL)

    def touch_root(self, channel: str) -> None:
        self.redis.expire(f"{self.prefix}:digest:{channel}:root", ROOT_TTL)

    def clear_root(self, channel: str) -> None:
        self.redis.delete(f"{self.prefix}:digest:{channel}:root")

    def record(self, entries: list[Entry], root_ts: str) -> None:
        """Remember which thread each entry went to, so later events of its conversation follow it."""
        pipe = self.redis.pipeline(transaction=False)
        for entry in entries:
            pipe.set(f"{self.prefix}:digest:entry:{entry.id}", root_ts, ex=ENTRY_TTL)
        pipe.execute()

    def thread_of(self, entry_id: str) -> str | None:
        value = self.redis.get(f"{self.prefix}:digest:entry:{entry_id}")
        return _text(value) if value is not None else None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def digest_line(card: Card) -> str:
    line = f"• *{escape(clip(card.title, 150))}*"
    if card.text:
        line += " — " + escape(clip(" ".join(card.text.split()), LINE_TEXT))
    if card.labels:
        line += " " + " ".join(f"`{escape(label)}`" for label in card.labels[:5])
    if card.url and len(card.url) <= URL_IN_LINE:
        line += " " + link(card.url, "↗")
    return clip(line, SECTION_TEXT)


def render_digest(cards: list[Card], *, lang: str = "en") -> tuple[Message, int]:
    """One digest post: a context line with the count, then the lines packed into sections.
    Returns the message and how many of `cards` it holds; the caller puts the rest back."""
    sections: list[str] = []
    current = ""
    used = 0
    for card in cards:
        line = digest_line(card)
        if current and len(current) + 1 + len(line) > SECTION_TEXT:
            if len(sections) + 2 >= MAX_BLOCKS:
                break
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
        used += 1
    if current:
        sections.append(current)
    title = texts.text("digest_title", lang, count=used)
    blocks: list[Block] = [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"*{title}*"}]}]
    blocks.extend({"type": "section", "text": {"type": "mrkdwn", "text": text}} for text in sections)
    return Message(text=title, blocks=blocks), used
