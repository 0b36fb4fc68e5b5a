"""Slack redelivers an event (`X-Slack-Retry-Num`) when it did not get a 2xx within 3 s; Bolt does
not deduplicate. Each `event_id` is claimed in Redis before it is handled: a retry that finds the
claim is acked and skipped. A failed attempt releases its claim, so Slack's retry redoes the work."""

from __future__ import annotations

from redis import Redis

PROCESSING_TTL = 300  # a crashed handler's claim lapses after Slack's last retry window (~5 min)
DONE_TTL = 24 * 3600  # Slack retries for about an hour; a day leaves a wide margin


class EventOnce:
    def __init__(self, redis: Redis, *, prefix: str = "vigie:slack") -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def claim(self, event_id: str) -> bool:
        """True when this delivery should be handled; False for a retry of a handled event."""
        return bool(self.redis.set(self._key(event_id), "processing", nx=True, ex=PROCESSING_TTL))

    def done(self, event_id: str) -> None:
        self.redis.set(self._key(event_id), "done", ex=DONE_TTL)

    def release(self, event_id: str) -> None:
        self.redis.delete(self._key(event_id))
