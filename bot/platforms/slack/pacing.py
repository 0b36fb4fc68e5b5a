"""Per-channel pacing shared by every worker through Redis.

Slack allows about one `chat.postMessage` per second per channel. Each channel has a "next free
instant" in Redis; a Lua script grants a post when that instant has passed and moves it one
interval ahead, atomically, so N workers on M machines together stay at one post per interval.
A caller that is not granted gets the wait and raises `RetryLater` instead of sleeping.

"Pressure" counts, per channel, the posts that could not go out at once over the last minute: above
a threshold the channel is flooded and cards are coalesced into digests instead of queued.
The clock is passed in, so tests drive a minute of traffic without waiting a minute.
"""

from __future__ import annotations

import math

from redis import Redis

_ACQUIRE = """
local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
if free_at <= now then
  redis.call('SET', KEYS[1], string.format('%.6f', now + tonumber(ARGV[2])), 'PX', ARGV[3])
  return '0'
end
return string.format('%.6f', free_at - now)
"""

_HOLD = """
local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > free_at then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""

BUCKET_SECONDS = 10  # pressure is counted in 10 s buckets: cheap, and precise enough for a minute


class ChannelPacer:
    def __init__(
        self, redis: Redis, *, interval: float = 1.0, window: float = 60.0, prefix: str = "vigie:slack"
    ) -> None:
        self.redis = redis
        self.interval = interval
        self.window = window
        self.prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._hold = redis.register_script(_HOLD)
        # Keys outlive their use by a minute so a clock a little behind another worker's is harmless.
        self._ttl_ms = int((max(interval, 1.0) + 60) * 1000)

    def _slot_key(self, channel: str) -> str:
        return f"{self.prefix}:pace:{channel}"

    def acquire(self, channel: str, now: float) -> float:
        """0.0 when the caller may post to `channel` now, else the seconds until the next free slot."""
        wait = self._acquire(keys=[self._slot_key(channel)], args=[f"{now:.6f}", self.interval, self._ttl_ms])
        return float(wait.decode() if isinstance(wait, bytes) else wait)

    def hold(self, channel: str, until: float) -> None:
        """Nobody posts to `channel` before `until` (after a 429 with Retry-After)."""
        # An hour of TTL covers any Retry-After Slack sends; the instant itself is what matters.
        self._hold(keys=[self._slot_key(channel)], args=[f"{until:.6f}", self._ttl_ms + 3_600_000])

    def _bucket(self, now: float) -> int:
        return math.floor(now / BUCKET_SECONDS)

    def add_pressure(self, channel: str, now: float) -> None:
        key = f"{self.prefix}:pressure:{channel}:{self._bucket(now)}"
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, int(self.window + 2 * BUCKET_SECONDS))
        pipe.execute()

    def pressure(self, channel: str, now: float) -> int:
        current = self._bucket(now)
        buckets = int(self.window // BUCKET_SECONDS)
        keys = [f"{self.prefix}:pressure:{channel}:{current - back}" for back in range(buckets)]
        return sum(int(value) for value in self.redis.mget(keys) if value is not None)
