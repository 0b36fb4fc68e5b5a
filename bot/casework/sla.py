"""SLA targets of one case (first response, next response, resolution), their due times in business
time, their status (active, hit, missed, cancelled) and the timers that warn before and escalate at a
breach. Everything here is pure: functions take the case's `sla` document and return the new one
plus the timer operations to carry out, so the desk applies them and the tests read them.

Timer keys carry the target's arming sequence (`case-7-first_response-breach-1`), so re-arming a
target (priority change, a new customer message) never reuses a job id, and a timer whose sequence
or due time no longer matches the case is stale and does nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.casework.business_hours import Calendar
from bot.durations import parse_duration
from bot.events import JsonValue
from bot.workspace import PRIORITIES, SlaPolicy, Workspace

Target = Literal["first_response", "next_response", "resolution"]
TARGETS: tuple[Target, ...] = ("first_response", "next_response", "resolution")

ESCALATION_STEPS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(0), "lead"),
    (timedelta(hours=1), "admin"),
)
"""Who is paged at a breach, and how long after it: the team lead at once, then the admins if the
target is still unmet an hour later. vigie.yaml has no per-policy chain yet; this is the default."""


@dataclass(frozen=True)
class TimerOp:
    """Schedule (`at` set) or cancel (`at` None) a timer."""

    key: str
    at: datetime | None = None
    task: str = ""
    args: dict[str, JsonValue] = field(default_factory=dict)


def copy_doc(doc: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy to change: the JSON column is saved only when the new value differs from the
    old one, which an in-place change of nested dicts would hide."""
    return copy.deepcopy(doc) if doc else {"targets": {}}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def parse_iso(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def policy_for(
    workspace: Workspace, team: str, priority: str, override: str | None = None
) -> SlaPolicy | None:
    """The team's policy for a priority. A route's `sla` may name another priority's policy or give a
    first-response duration (`sla: 2h`) that overrides the team's."""
    config = workspace.teams.get(team)
    if config is None:
        return None
    policies: dict[str, SlaPolicy] = {str(k): v for k, v in config.sla.items()}
    policy = policies.get(priority)
    if override:
        if override in PRIORITIES:
            return policies.get(override) or policy
        try:
            first = parse_duration(override)
        except ValueError:
            return policy
        base = policy or SlaPolicy()
        return base.model_copy(update={"first_response": first})
    return policy


def calendar_for(workspace: Workspace, team: str, policy_doc: dict[str, Any]) -> Calendar:
    config = workspace.teams[team]
    return Calendar.for_team(config, always_open=not policy_doc.get("business_hours", True))


def _durations(policy: SlaPolicy) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in TARGETS:
        value: timedelta | None = getattr(policy, name)
        if value is not None:
            out[name] = value.total_seconds()
    return out


def start(policy: SlaPolicy | None, opened_at: datetime, calendar: Calendar) -> dict[str, Any]:
    """The SLA document of a new case: first response and resolution armed from `opened_at`."""
    if policy is None:
        return {"targets": {}}
    doc: dict[str, Any] = {
        "durations": _durations(policy),
        "warn_before": policy.warn_before.total_seconds(),
        "business_hours": policy.business_hours,
        "targets": {},
    }
    for name in ("first_response", "resolution"):
        if name in doc["durations"]:
            doc["targets"][name] = _armed(doc, name, opened_at, calendar, seq=1)
    return doc


def _armed(
    doc: dict[str, Any], name: str, since: datetime, calendar: Calendar, *, seq: int
) -> dict[str, Any]:
    due = calendar.add(since, timedelta(seconds=doc["durations"][name]))
    return {"since": iso(since), "due": iso(due), "status": "active", "at": None, "seq": seq, "warned": False}


def timers_for(case_id: int, doc: dict[str, Any], name: str, now: datetime) -> list[TimerOp]:
    """Warn and breach timers of one active target."""
    target = doc.get("targets", {}).get(name)
    if not target or target["status"] != "active":
        return []
    due = parse_iso(target["due"])
    assert due is not None
    seq = int(target["seq"])
    args: dict[str, JsonValue] = {"case_id": case_id, "target": name, "seq": seq, "due": target["due"]}
    ops = []
    warn_at = due - timedelta(seconds=float(doc.get("warn_before", 0)))
    if not target.get("warned") and warn_at > now and warn_at < due:
        ops.append(TimerOp(timer_key(case_id, name, "warn", seq), warn_at, "sla_warn", args))
    ops.append(TimerOp(timer_key(case_id, name, "breach", seq), max(due, now), "sla_breach", args))
    return ops


def timer_key(case_id: int, name: str, stage: str, seq: int) -> str:
    return f"case-{case_id}-{name}-{stage}-{seq}"


def cancel_ops(case_id: int, doc: dict[str, Any], name: str) -> list[TimerOp]:
    target = doc.get("targets", {}).get(name)
    if not target:
        return []
    seq = int(target["seq"])
    stages = ["warn", "breach"] + [f"esc{level}" for level in range(2, len(ESCALATION_STEPS) + 1)]
    return [TimerOp(timer_key(case_id, name, stage, seq)) for stage in stages]


def all_timers(case_id: int, doc: dict[str, Any], now: datetime) -> list[TimerOp]:
    return [op for name in TARGETS for op in timers_for(case_id, doc, name, now)]


def cancel_all(case_id: int, doc: dict[str, Any]) -> list[TimerOp]:
    return [op for name in TARGETS for op in cancel_ops(case_id, doc, name)]


def record_response(case_id: int, doc: dict[str, Any], at: datetime) -> list[TimerOp]:
    """A reply reached the customer: the first or next response target is met (hit when on time,
    missed when late) and its timers stop. Mutates `doc`."""
    ops: list[TimerOp] = []
    for name in ("first_response", "next_response"):
        target = doc.get("targets", {}).get(name)
        if not target or target.get("at") is not None or target["status"] == "cancelled":
            continue
        due = parse_iso(target["due"])
        target["at"] = iso(at)
        target["status"] = "hit" if due is not None and at <= due else "missed"
        ops += cancel_ops(case_id, doc, name)
    return ops


def customer_wrote(
    case_id: int, doc: dict[str, Any], at: datetime, now: datetime, calendar: Calendar
) -> list[TimerOp]:
    """The customer wrote again after we answered: arm the next-response clock from their message,
    unless it is already running (the clock starts at the first unanswered message)."""
    if "next_response" not in doc.get("durations", {}):
        return []
    first = doc["targets"].get("first_response")
    if first is not None and first.get("at") is None:
        return []
    current = doc["targets"].get("next_response")
    if current is not None and current.get("at") is None and current["status"] in ("active", "missed"):
        return []
    seq = int(current["seq"]) + 1 if current else 1
    doc["targets"]["next_response"] = _armed(doc, "next_response", at, calendar, seq=seq)
    return timers_for(case_id, doc, "next_response", now)


def resolved(case_id: int, doc: dict[str, Any], at: datetime) -> list[TimerOp]:
    """Resolution met; response clocks still running are cancelled (nothing is owed any more)."""
    ops = cancel_all(case_id, doc)
    for name, target in doc.get("targets", {}).items():
        if target.get("at") is not None or target["status"] not in ("active", "missed"):
            continue
        if name == "resolution":
            due = parse_iso(target["due"])
            target["at"] = iso(at)
            target["status"] = "hit" if due is not None and at <= due else "missed"
        elif target["status"] == "active":
            target["status"] = "cancelled"
    return ops


def reopened(case_id: int, doc: dict[str, Any], at: datetime, calendar: Calendar) -> list[TimerOp]:
    """A reopened case owes a resolution again, from now."""
    if "resolution" not in doc.get("durations", {}):
        return []
    current = doc["targets"].get("resolution")
    seq = int(current["seq"]) + 1 if current else 1
    ops = cancel_ops(case_id, doc, "resolution")
    doc["targets"]["resolution"] = _armed(doc, "resolution", at, calendar, seq=seq)
    return ops + timers_for(case_id, doc, "resolution", at)


def repriced(
    case_id: int,
    doc: dict[str, Any],
    policy: SlaPolicy | None,
    now: datetime,
    calendar_of: Callable[[dict[str, Any]], Calendar],
    *,
    opened_at: datetime,
    responded: bool,
) -> tuple[dict[str, Any], list[TimerOp]]:
    """The priority changed: active targets keep their start and get the new policy's due times; met
    or missed ones keep their outcome. `calendar_of(doc)` gives the calendar for the new document."""
    ops = cancel_all(case_id, doc)
    old = doc.get("targets", {})
    if policy is None:
        return {"targets": {k: v for k, v in old.items() if v["status"] != "active"}}, ops
    new: dict[str, Any] = {
        "durations": _durations(policy),
        "warn_before": policy.warn_before.total_seconds(),
        "business_hours": policy.business_hours,
        "targets": {},
    }
    calendar = calendar_of(new)
    for name, target in old.items():
        if target["status"] != "active":
            new["targets"][name] = target
        elif name in new["durations"]:
            since = parse_iso(target["since"]) or now
            new["targets"][name] = _armed(new, name, since, calendar, seq=int(target["seq"]) + 1)
    fresh = {"resolution": True, "first_response": not responded}
    for name, wanted in fresh.items():
        if wanted and name in new["durations"] and name not in new["targets"]:
            new["targets"][name] = _armed(new, name, opened_at, calendar, seq=1)
    return new, ops + all_timers(case_id, new, now)


def status(doc: dict[str, Any]) -> str:
    """The case's SLA status, Chatwoot's way: active, active_with_misses, hit, missed, or none."""
    states = [t["status"] for t in doc.get("targets", {}).values() if t["status"] != "cancelled"]
    if not states:
        return "none"
    missed = "missed" in states
    active = "active" in states
    if active:
        return "active_with_misses" if missed else "active"
    return "missed" if missed else "hit"


def is_live(doc: dict[str, Any], args: dict[str, Any]) -> bool:
    """Whether a timer still matches its target (same arming and due time, not yet met)."""
    target = doc.get("targets", {}).get(str(args.get("target")))
    if not target or target.get("at") is not None:
        return False
    return bool(int(target["seq"]) == int(args.get("seq", -1)) and target["due"] == args.get("due"))
