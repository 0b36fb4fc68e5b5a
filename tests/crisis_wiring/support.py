"""Helpers for the crisis wiring tests: events, signals, incidents opened directly, what was paged."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.crisis.signals import EventFacts, Signal, SignalKind
from bot.crisis_service import process_signals
from bot.events import Author, Event, utcnow
from bot.runtime import Runtime
from bot.store.incidents import IncidentRepo
from bot.store.models import IncidentRow


def make_event(
    n: int,
    text: str = "very disappointed",
    *,
    at: datetime | None = None,
    brand: str | None = None,
    **extra: Any,
) -> Event:
    return Event.model_validate(
        {
            "source": extra.pop("source", "instagram"),
            "kind": extra.pop("kind", "comment"),
            "external_id": f"cw-{n}",
            "text": text,
            "author": Author(id=f"author-{n}", name=f"Author {n}").model_dump(),
            "created_at": (at or utcnow()).isoformat(),
            "brand": brand,
            **extra,
        }
    )


def facts_of(event: Event, negative: bool = True) -> EventFacts:
    return EventFacts(
        event_id=event.id, at=event.created_at, source=event.source, brand=event.brand, negative=negative
    )


def signal_for(event: Event, strength: float, kind: SignalKind = "rule") -> Signal:
    scope = f"brand:{event.brand or 'self'}"
    return Signal(
        kind=kind,
        scope=scope,
        incident_scope=scope,
        at=event.created_at,
        score=strength,
        strength=strength,
        pressure=strength,
        event_id=event.id,
        detail={"rules": "test-rule"} if kind == "rule" else {},
    )


def open_incident(rt: Runtime, brand: str, n: int, strength: float = 1.5) -> str:
    """Open an incident for `brand` from one strong signal, as the detector would."""
    event = make_event(n, brand=brand)
    touched = process_signals(rt, event, facts_of(event), [signal_for(event, strength)])
    assert len(touched) == 1
    return touched[0]


def incident(rt: Runtime, incident_id: str) -> IncidentRow:
    with rt.store.unit() as unit:
        row = IncidentRepo(unit).get(incident_id)
        assert row is not None
        unit.session.expunge(row)
        return row


def incidents(rt: Runtime) -> list[IncidentRow]:
    with rt.store.unit() as unit:
        rows = IncidentRepo(unit).recent(limit=100)
        for row in rows:
            unit.session.expunge(row)
        return rows


def pages(rt: Runtime, incident_id: str) -> list[list[str]]:
    """Who each applied page of an incident pinged (staff ids), in the order they were sent."""
    with rt.store.unit() as unit:
        rows = [
            r for r in unit.effects.for_subject(incident_id) if r.kind == "page" and r.status == "applied"
        ]
        rows.sort(key=lambda r: (r.applied_at or utcnow(), r.key))
        return [list(r.params.get("staff") or []) for r in rows]


def wait_until(check: Callable[[], bool], timeout: float = 6.0, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()
