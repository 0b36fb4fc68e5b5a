"""Which signals open a crisis incident, which join an open one, its severity and the summary that is
re-rendered in place (one message per incident, never a thread of updates).

Incidents are per brand scope: spikes are measured per brand, source and topic label, but a crisis
is about a brand, so every signal raised by an event of brand X lands in X's open incident. Pure:
`decide` takes the signals of one event and the open incidents and says what to store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.crisis.signals import DetectionConfig, Signal, SignalKind

Severity = Literal["minor", "major", "critical"]
SEVERITIES: tuple[Severity, ...] = ("minor", "major", "critical")
Status = Literal["open", "acknowledged", "resolved"]
Lang = Literal["en", "fr"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpikePeak(_Frozen):
    kind: SignalKind
    scope: str
    score: float
    count: float
    expected: float
    bucket_s: int


class Incident(_Frozen):
    id: str
    scope: str
    status: Status = "open"
    opened_at: datetime
    updated_at: datetime
    severity: Severity = "minor"
    score: float = Field(
        default=0.0, description="Evidence so far: per event, the strongest signal of each kind."
    )
    kinds: dict[str, int] = Field(default_factory=dict, description="Signals per kind.")
    spike: SpikePeak | None = Field(default=None, description="The largest spike so far.")
    low_ratings: int = Field(default=0, description="Largest count of 1–2 star ratings in a burst window.")
    low_ratings_within_s: int = 3600
    max_followers: int = 0
    reach_authors: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    events: int = Field(default=0, description="Events in the timeline.")

    @property
    def signals(self) -> int:
        return sum(self.kinds.values())


class Decision(_Frozen):
    action: Literal["open", "join"]
    incident: Incident = Field(description="The incident after this decision: store it, re-render its card.")
    signals: tuple[Signal, ...] = Field(description="Timeline entries to add.")
    severity_raised: bool = Field(description="Severity went up: the step engine may re-escalate.")


def decide(
    signals: Sequence[Signal], open_incidents: Iterable[Incident], config: DetectionConfig
) -> list[Decision]:
    """Signals of one event → at most one decision per brand scope: join the scope's open incident,
    open one when the scope's signal pressure reaches the threshold, or nothing (the pressure stays
    recorded in the scope state, so weak signals still add up over the window)."""
    live = {incident.scope: incident for incident in open_incidents if incident.status != "resolved"}
    groups: dict[str, list[Signal]] = {}
    for signal in signals:
        groups.setdefault(signal.incident_scope, []).append(signal)
    decisions = []
    for scope, group in groups.items():
        current = live.get(scope)
        if current is not None:
            updated = _absorb(current, group, config)
            raised = SEVERITIES.index(updated.severity) > SEVERITIES.index(current.severity)
            decisions.append(
                Decision(action="join", incident=updated, signals=tuple(group), severity_raised=raised)
            )
        elif max(signal.pressure for signal in group) >= config.open_threshold:
            first = group[0]
            fresh = Incident(
                id=incident_id(scope, first), scope=scope, opened_at=first.at, updated_at=first.at, events=0
            )
            opened = _absorb(fresh, group, config)
            decisions.append(
                Decision(action="open", incident=opened, signals=tuple(group), severity_raised=False)
            )
    return decisions


def incident_id(scope: str, first: Signal) -> str:
    """Stable across retries of the job that opens it: the same first signal gives the same id."""
    key = f"{scope}\x00{first.event_id}\x00{first.at.isoformat()}"
    return "inc-" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def with_event(incident: Incident, at: datetime) -> Incident:
    """An event of the incident's scope joined its timeline."""
    return incident.model_copy(
        update={"events": incident.events + 1, "updated_at": max(at, incident.updated_at)}
    )


def acknowledged(incident: Incident, at: datetime) -> Incident:
    return incident.model_copy(update={"status": "acknowledged", "updated_at": at})


def resolved(incident: Incident, at: datetime) -> Incident:
    return incident.model_copy(update={"status": "resolved", "updated_at": at})


def severity_for(score: float, config: DetectionConfig) -> Severity:
    if score >= config.critical:
        return "critical"
    if score >= config.major:
        return "major"
    return "minor"


def _absorb(incident: Incident, group: Sequence[Signal], config: DetectionConfig) -> Incident:
    kinds = dict(incident.kinds)
    spike = incident.spike
    followers, authors, rules = incident.max_followers, list(incident.reach_authors), list(incident.rules)
    low, within = incident.low_ratings, incident.low_ratings_within_s
    for signal in group:
        kinds[signal.kind] = kinds.get(signal.kind, 0) + 1
        if signal.kind in ("volume_spike", "negative_spike") and (
            spike is None or _rank(signal) > _rank(spike)
        ):
            spike = SpikePeak(
                kind=signal.kind,
                scope=signal.scope,
                score=signal.score,
                count=float(signal.detail.get("count") or 0),
                expected=float(signal.detail.get("expected") or 0),
                bucket_s=int(signal.detail.get("bucket_s") or 300),
            )
        if signal.kind == "rating_burst" and int(signal.score) > low:
            low, within = int(signal.score), int(signal.detail.get("within_s") or within)
        if signal.kind == "reach":
            followers = max(followers, int(signal.score))
            author = str(signal.detail.get("author") or "")
            if author and author not in authors:
                authors.append(author)
        if signal.kind == "rule":
            for rule in str(signal.detail.get("rules") or "").split(","):
                if rule and rule not in rules:
                    rules.append(rule)
    # One event seen from several scopes (brand, source, label) is one piece of evidence per kind.
    strongest: dict[str, float] = {}
    for signal in group:
        strongest[signal.kind] = max(strongest.get(signal.kind, 0.0), signal.strength)
    score = round(incident.score + sum(strongest.values()), 3)
    # Severity only goes up while the incident lives: a card that flips back and forth is noise.
    severity = max(incident.severity, severity_for(score, config), key=SEVERITIES.index)
    events = incident.events + len({signal.event_id for signal in group if signal.event_id})
    return incident.model_copy(
        update={
            "kinds": kinds,
            "spike": spike,
            "max_followers": followers,
            "low_ratings": low,
            "low_ratings_within_s": within,
            "reach_authors": tuple(authors[:20]),
            "rules": tuple(rules[:20]),
            "score": score,
            "severity": severity,
            "events": events,
            "updated_at": max(incident.updated_at, *(signal.at for signal in group)),
        }
    )


def _rank(spike: Signal | SpikePeak) -> tuple[bool, float]:
    # The summary leads with the negative spike: that is the crisis; volume alone may be good news.
    return spike.kind == "negative_spike", spike.score


# -- text ---------------------------------------------------------------------------------------

_WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "title": "Possible crisis — {scope}",
        "brand": "brand {}",
        "source": "source {}",
        "label": "topic {}",
        "volume_spike": "message volume spiking",
        "negative_spike": "negative messages spiking",
        "spike": "{what} ({count} in {minutes} min, {expected})",
        "expected": "about {} expected",
        "none_expected": "almost none expected",
        "rating_burst": "burst of 1–2 star ratings ({n} within {minutes} min)",
        "reach": "{n} high-reach author(s), up to {followers} followers",
        "rules": "crisis rules: {rules}",
        "severity": "Severity: {}.",
        "minor": "minor",
        "major": "major",
        "critical": "critical",
        "tail": "{events} event(s), {signals} signal(s) since {since}.",
        "acknowledged": "Acknowledged.",
        "resolved": "Resolved.",
    },
    "fr": {
        "title": "Crise possible — {scope}",
        "brand": "marque {}",
        "source": "source {}",
        "label": "sujet {}",
        "volume_spike": "pic de volume de messages",
        "negative_spike": "pic de messages négatifs",
        "spike": "{what} ({count} en {minutes} min, {expected})",
        "expected": "environ {} attendus",
        "none_expected": "presque aucun attendu",
        "rating_burst": "rafale de notes à 1–2 étoiles ({n} en {minutes} min)",
        "reach": "{n} auteur(s) à forte audience, jusqu'à {followers} abonnés",
        "rules": "règles de crise : {rules}",
        "severity": "Gravité : {}.",
        "minor": "mineure",
        "major": "majeure",
        "critical": "critique",
        "tail": "{events} événement(s), {signals} signal(aux) depuis {since}.",
        "acknowledged": "Pris en charge.",
        "resolved": "Résolu.",
    },
}


def scope_name(scope: str, lang: Lang = "en") -> str:
    kind, _, name = scope.partition(":")
    template = _WORDS[lang].get(kind)
    return template.format(name) if template and kind in ("brand", "source", "label") else scope


def title(incident: Incident, lang: Lang = "en") -> str:
    return _WORDS[lang]["title"].format(scope=scope_name(incident.scope, lang))


def summary(incident: Incident, lang: Lang = "en", timezone: str = "UTC") -> str:
    """One paragraph, re-rendered in place on every change; French or English."""
    w = _WORDS[lang]
    parts = []
    spike = incident.spike
    if spike is not None:
        parts.append(
            w["spike"].format(
                what=w[spike.kind],
                count=_number(spike.count, lang),
                minutes=spike.bucket_s // 60,
                expected=w["expected"].format(_number(spike.expected, lang))
                if spike.expected >= 0.1
                else w["none_expected"],
            )
        )
    if incident.low_ratings:
        parts.append(
            w["rating_burst"].format(n=incident.low_ratings, minutes=incident.low_ratings_within_s // 60)
        )
    if incident.reach_authors:
        parts.append(
            w["reach"].format(n=len(incident.reach_authors), followers=_number(incident.max_followers, lang))
        )
    if incident.rules:
        parts.append(w["rules"].format(rules=", ".join(incident.rules)))
    zone = ZoneInfo(timezone)
    since = incident.opened_at.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + timezone
    head = (" ; " if lang == "fr" else "; ").join(parts)
    head = head[0].upper() + head[1:] + "." if head else ""
    lines = [
        head,
        w["severity"].format(w[incident.severity]),
        w["tail"].format(events=incident.events, signals=incident.signals, since=since),
    ]
    if incident.status in ("acknowledged", "resolved"):
        lines.append(w[incident.status])
    return " ".join(line for line in lines if line)


def _number(value: float, lang: Lang) -> str:
    if value >= 10 or float(value).is_integer():
        text = f"{round(value):,}"
        return text.replace(",", "\u202f") if lang == "fr" else text
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "fr" else text
