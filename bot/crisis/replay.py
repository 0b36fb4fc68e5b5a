"""Replay a stream through crisis detection, without side effects: counts per bucket (a CSV of
`timestamp,value`, the NAB format) or timestamped events (JSONL, one `Event` per line).

Both yield one dict per alert: `{"at": ISO time, "signal": kind, "score": z or measure, ...}`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.crisis.incidents import Incident, decide, summary
from bot.crisis.policy import load_crisis_config
from bot.crisis.signals import (
    DetectionConfig,
    EventFacts,
    FactsFn,
    ScopeState,
    SignalEngine,
    facts_from_verdict,
    facts_without_rulebook,
)
from bot.crisis.spike import SpikeDetector, SpikeParams, SpikeState
from bot.events import Event

CRISIS_FILE = "escalation.yaml"


class ReplayError(Exception):
    """Bad input; the message names the file and line."""


def read_counts(path: Path) -> Iterator[tuple[datetime, float]]:
    """Rows of `timestamp,value`; a header line is allowed, timestamps must not go backwards."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as error:
        raise ReplayError(f"{path}: cannot read: {error.strerror}") from error
    previous: datetime | None = None
    with handle:
        try:
            for number, row in enumerate(csv.reader(handle), start=1):
                if not row or not "".join(row).strip():
                    continue
                if number == 1 and row[0].strip().lower() == "timestamp":
                    continue
                at, value = _count_row(path, number, row)
                if previous is not None and at < previous:
                    raise ReplayError(f"{path}:{number}: timestamp {row[0].strip()} goes back in time")
                previous = at
                yield at, value
        except UnicodeDecodeError as error:
            raise ReplayError(f"{path}: not UTF-8 text ({error.reason})") from error


def _count_row(path: Path, number: int, row: Sequence[str]) -> tuple[datetime, float]:
    if len(row) != 2:
        raise ReplayError(f"{path}:{number}: expected `timestamp,value`, got {len(row)} field(s)")
    try:
        at = datetime.fromisoformat(row[0].strip())
    except ValueError as error:
        raise ReplayError(f"{path}:{number}: not an ISO timestamp: {row[0].strip()!r}") from error
    try:
        value = float(row[1])
    except ValueError as error:
        raise ReplayError(f"{path}:{number}: not a number: {row[1].strip()!r}") from error
    if not math.isfinite(value) or value < 0:
        raise ReplayError(f"{path}:{number}: a count must be a finite number ≥ 0, got {row[1].strip()}")
    return (at if at.tzinfo else at.replace(tzinfo=UTC)), value


def read_events(path: Path) -> list[Event]:
    """Every line an `Event` as JSON; blank lines and `#` comments skipped. Sorted by `created_at`,
    since exports are not always in order and the detectors read time forwards."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ReplayError(f"{path}: cannot read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ReplayError(f"{path}: not UTF-8 text ({error.reason})") from error
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise ReplayError(f"{path}:{number}: invalid JSON: {error.msg} (column {error.colno})") from error
        try:
            events.append(Event.model_validate(data))
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "(event)"
            more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
            raise ReplayError(f"{path}:{number}: {field}: {first['msg']}{more}") from error
    return sorted(events, key=lambda event: event.created_at)


def replay_counts(
    rows: Iterable[tuple[datetime, float]], params: SpikeParams | None = None, scope: str = "counts"
) -> Iterator[dict[str, Any]]:
    detector = SpikeDetector(params)
    state = SpikeState()
    for at, value in rows:
        state, alert = detector.observe(state, at, value)
        if alert is not None:
            yield {
                "at": _iso(alert.at),
                "signal": "volume_spike",
                "score": round(alert.score, 2),
                "scope": scope,
                "count": alert.count,
                "expected": round(alert.expected, 2),
            }


def replay_events(
    events: Iterable[Event],
    facts: FactsFn = facts_without_rulebook,
    config: DetectionConfig | None = None,
    incidents: bool = False,
    lang: str = "en",
) -> Iterator[dict[str, Any]]:
    """Run every signal over the events in order, with states kept in memory as a worker would keep
    them in Redis; with `incidents`, also yield each incident decision."""
    engine = SignalEngine(config)
    states: dict[str, ScopeState] = {}
    open_incidents: dict[str, Incident] = {}
    for event in events:
        event_facts = facts(event)
        signals, changed = engine.observe(event_facts, states)
        states.update(changed)
        for signal in signals:
            yield {
                "at": _iso(signal.at),
                "signal": signal.kind,
                "score": round(signal.score, 2),
                "scope": signal.scope,
                "strength": signal.strength,
                "pressure": signal.pressure,
                "event_id": signal.event_id,
                **signal.detail,
            }
        for decision in decide(signals, open_incidents.values(), engine.config):
            open_incidents[decision.incident.scope] = decision.incident
            if incidents:
                incident = decision.incident
                yield {
                    "at": _iso(incident.updated_at),
                    "signal": f"incident_{decision.action}",
                    "score": incident.score,
                    "incident": incident.id,
                    "scope": incident.scope,
                    "severity": incident.severity,
                    "summary": summary(incident, "fr" if lang == "fr" else "en"),
                }


def detection_config(rules: Path) -> DetectionConfig:
    """The `detection:` section of DIR/escalation.yaml, defaults when there is no such file."""
    path = rules / CRISIS_FILE if rules.is_dir() else rules
    if not path.exists():
        return DetectionConfig()
    return load_crisis_config(path).detection


def rulebook_facts(rules: Path) -> tuple[FactsFn, str]:
    """Per-event facts from the rulebook when `bot.rulebook` is importable, else the rating fallback.
    Returns the function and a line saying which, for stderr."""
    try:
        from bot.rulebook import load_rulebook
    except ImportError:
        return (
            facts_without_rulebook,
            "bot.rulebook is not importable: 1–2 star ratings count as negative, no rule weights",
        )
    # The rulebook reads only rule packs (files with `rules:`), so escalation.yaml can live beside them.
    book = load_rulebook(rules)

    def facts(event: Event) -> EventFacts:
        # signals=True: sentiment is computed even when no rule asked for it; negatives depend on it.
        return facts_from_verdict(event, book.evaluate(event, now=event.created_at, signals=True))

    return facts, f"rulebook {rules}: sentiment, rating and crisis rules"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
