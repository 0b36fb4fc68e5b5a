"""Windowed counters for `rate:` conditions.

The rulebook only sees the `WindowCounter` protocol; the shared Redis implementation lives in
bot/store/counters.py (bot/rulebook never imports redis). `MemoryWindowCounter` serves tests,
`vigie rules test` and a single-process bot.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class WindowCounter(Protocol):
    def hit(self, key: str, window_s: float, now: datetime) -> int:
        """Record one event under `key` at `now`; return how many fell within the last `window_s`
        seconds, this one included."""
        ...


class MemoryWindowCounter:
    """A sliding window per key, in this process only."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._events: dict[str, deque[float]] = {}
        self._max_keys = max_keys

    def hit(self, key: str, window_s: float, now: datetime) -> int:
        stamp = now.timestamp()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self._max_keys:
                self._events.clear()  # a crude bound; a bot that needs more uses Redis
            events = self._events[key] = deque()
        events.append(stamp)
        horizon = stamp - window_s
        while events and events[0] <= horizon:
            events.popleft()
        return len(events)
