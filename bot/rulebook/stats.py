"""Per-rule counters: evaluations, hits, actions, human overrides, and cost.

Evaluation bumps plain integers in lists (tens of nanoseconds); cost is timed on one event in
`SAMPLE_EVERY` only, because reading the clock around every rule would cost more than most rules.
Workers `drain()` the counters now and then into a `StatsSink` (Redis: bot/store/counters.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

SAMPLE_EVERY = 16

log = logging.getLogger(__name__)


@dataclass
class RuleCounters:
    evaluations: int = 0
    hits: int = 0
    actions: int = 0
    overrides: int = 0
    sampled: int = 0
    sampled_ns: int = 0

    @property
    def mean_us(self) -> float:
        return self.sampled_ns / self.sampled / 1000 if self.sampled else 0.0

    def add(self, other: RuleCounters) -> None:
        self.evaluations += other.evaluations
        self.hits += other.hits
        self.actions += other.actions
        self.overrides += other.overrides
        self.sampled += other.sampled
        self.sampled_ns += other.sampled_ns

    def as_dict(self) -> dict[str, float]:
        return {
            "evaluations": self.evaluations,
            "hits": self.hits,
            "actions": self.actions,
            "overrides": self.overrides,
            "mean_us": round(self.mean_us, 2),
            "total_us": round(self.mean_us * self.evaluations, 1),
        }


class RuleStats:
    """Counters for the rules of one rulebook, indexed by the rule's position."""

    def __init__(self, rule_ids: Sequence[str]) -> None:
        self.rule_ids = list(rule_ids)
        self.reset()

    def reset(self) -> None:
        size = len(self.rule_ids)
        self.evaluations = [0] * size
        self.hits = [0] * size
        self.actions = [0] * size
        self.sampled = [0] * size
        self.sampled_ns = [0] * size
        self.events = 0

    def drain(self) -> dict[str, RuleCounters]:
        """The counters gathered since the last drain, then zeroed."""
        out = {
            rule_id: RuleCounters(
                self.evaluations[i], self.hits[i], self.actions[i], 0, self.sampled[i], self.sampled_ns[i]
            )
            for i, rule_id in enumerate(self.rule_ids)
            if self.evaluations[i]
        }
        self.reset()
        return out


@runtime_checkable
class StatsSink(Protocol):
    def add(self, counters: Mapping[str, RuleCounters]) -> None: ...

    def record_override(self, rule_id: str) -> None: ...

    def read(self) -> dict[str, RuleCounters]: ...


class MemoryStatsSink:
    def __init__(self) -> None:
        self.totals: dict[str, RuleCounters] = {}

    def add(self, counters: Mapping[str, RuleCounters]) -> None:
        for rule_id, values in counters.items():
            self.totals.setdefault(rule_id, RuleCounters()).add(values)

    def record_override(self, rule_id: str) -> None:
        self.totals.setdefault(rule_id, RuleCounters()).overrides += 1

    def read(self) -> dict[str, RuleCounters]:
        return dict(self.totals)


_default_sink: StatsSink = MemoryStatsSink()


def set_default_sink(sink: StatsSink) -> None:
    """Workers set the shared sink once at start (bot.store.counters.RedisStatsSink)."""
    global _default_sink
    _default_sink = sink


def default_sink() -> StatsSink:
    return _default_sink


def record_override(rule_id: str, sink: StatsSink | None = None) -> None:
    """A human undid or overrode what `rule_id` did (restored a hidden message, re-routed a case)."""
    (sink or _default_sink).record_override(rule_id)
