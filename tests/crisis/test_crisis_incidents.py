"""Incident decisions: open, join, severity that only rises, stable ids, summaries in FR and EN."""

from __future__ import annotations

from datetime import timedelta

from bot.crisis.incidents import acknowledged, decide, resolved, summary, title, with_event
from bot.crisis.signals import DetectionConfig, Signal
from tests.crisis.crisis_helpers import T0

CONFIG = DetectionConfig()


def signal(
    kind: str = "negative_spike",
    *,
    strength: float = 1.2,
    minutes: int = 0,
    scope: str = "brand:acme",
    event_id: str = "ev-1",
    **detail: float | str,
) -> Signal:
    return Signal.model_validate(
        {
            "kind": kind,
            "scope": scope,
            "incident_scope": "brand:acme" if scope.startswith(("source:", "label:")) else scope,
            "at": T0 + timedelta(minutes=minutes),
            "score": detail.pop("score", 7.0),
            "strength": strength,
            "pressure": strength,
            "event_id": event_id,
            "detail": detail,
        }
    )


def test_a_strong_signal_opens_and_later_ones_join() -> None:
    first = decide([signal(count=25, expected=0.4, bucket_s=300)], [], CONFIG)
    assert [d.action for d in first] == ["open"]
    incident = first[0].incident
    later = decide([signal("volume_spike", strength=0.5, minutes=3, event_id="ev-2")], [incident], CONFIG)
    assert [d.action for d in later] == ["join"]
    assert later[0].incident.id == incident.id
    assert later[0].incident.kinds == {"negative_spike": 1, "volume_spike": 1}


def test_weak_signals_open_nothing_and_resolved_incidents_are_not_joined() -> None:
    assert decide([signal(strength=0.4)], [], CONFIG) == []
    incident = decide([signal()], [], CONFIG)[0].incident
    closed = resolved(incident, T0 + timedelta(hours=1))
    again = decide([signal(minutes=90, event_id="ev-9")], [closed], CONFIG)
    assert [d.action for d in again] == ["open"] and again[0].incident.id != incident.id


def test_one_event_seen_from_several_scopes_counts_once_per_kind() -> None:
    group = [signal(scope="brand:acme"), signal(scope="source:trustpilot"), signal(scope="label:allergy")]
    [decision] = decide(group, [], CONFIG)
    assert decision.incident.scope == "brand:acme"
    assert decision.incident.score == 1.2
    assert decision.incident.events == 1


def test_severity_rises_with_evidence_and_never_falls() -> None:
    incident = decide([signal()], [], CONFIG)[0].incident
    assert incident.severity == "minor"
    raised = None
    for n in range(1, 6):
        [raised] = decide([signal(minutes=n, event_id=f"ev-{n}")], [incident], CONFIG)
        incident = raised.incident
        if incident.severity == "critical":
            break
    assert raised is not None and raised.severity_raised and incident.severity == "critical"
    [calm] = decide([signal("volume_spike", strength=0.1, minutes=30, event_id="ev-x")], [incident], CONFIG)
    assert calm.incident.severity == "critical" and not calm.severity_raised


def test_ids_are_stable_across_retries() -> None:
    a = decide([signal()], [], CONFIG)[0].incident.id
    b = decide([signal()], [], CONFIG)[0].incident.id
    c = decide([signal(event_id="ev-other")], [], CONFIG)[0].incident.id
    assert a == b != c


def test_summary_in_english_and_french() -> None:
    group = [
        signal(count=48, expected=1.5, bucket_s=300),
        signal("reach", strength=0.6, score=120_000, author="u-journalist"),
        signal("rule", strength=1.0, score=1.0, rules="allergy-child,journalist"),
        signal("rating_burst", strength=1.0, score=12, within_s=3600),
    ]
    incident = with_event(decide(group, [], CONFIG)[0].incident, T0 + timedelta(minutes=2))
    en = summary(incident, "en")
    assert "Negative messages spiking (48 in 5 min, about 1.5 expected)" in en
    assert "up to 120,000 followers" in en and "allergy-child, journalist" in en
    assert "12 within 60 min" in en and "since 2026-03-02 00:00 UTC" in en
    fr = summary(incident, "fr", timezone="Europe/Paris")
    assert "Pic de messages négatifs (48 en 5 min, environ 1,5 attendus)" in fr
    assert "120\u202f000 abonnés" in fr and "depuis 2026-03-02 01:00 Europe/Paris" in fr
    assert title(incident, "fr") == "Crise possible — marque acme"
    assert summary(acknowledged(incident, T0), "fr").endswith("Pris en charge.")
