"""The escalation step engine: pure, clock passed in, state a small JSON object.

    state = start(policy, incident.id, now)
    notes, wake_at, state = advance(policy, state, now, counts)   # send notes; run again at wake_at

The scheduler calls `advance` at `wake_at` (None: nothing more to do). A call before `wake_at`, or
a second call for the same wake-up, sends nothing, so a duplicated or stale scheduled job is harmless.
Acknowledge stops the paging; resolve ends it and notifies nobody (OnCall's users complain about
pings on resolve); silence holds everything until a chosen time, then resumes where it was.
`escalate_again` restarts the steps when the incident gets worse; `if_unacknowledged` then lets a
policy inform without paging again whoever already took it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.crisis.policy import (
    DAYS,
    IfCountStep,
    IfUnacknowledgedStep,
    NotifyStep,
    Policy,
    RepeatStep,
    TimeRangeSpec,
    TimeRangeStep,
    WaitStep,
)

EscalationStatus = Literal["active", "acknowledged", "resolved", "finished"]
MAX_STEPS_PER_CALL = 1000  # policies are validated loop-free without a wait; this is only a backstop


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Notification(_Frozen):
    incident_id: str
    policy_id: str
    step: int
    round: int = Field(description="0 on the first pass, then one more per repeat.")
    at: datetime
    channels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable per step and round: the effect key that keeps a retried job from paging twice."""
        return f"{self.incident_id}:page:{self.policy_id}:{self.round}:{self.step}"


class EscalationState(_Frozen):
    incident_id: str
    policy_id: str
    status: EscalationStatus = "active"
    cursor: int = 0
    round: int = 0
    repeats: dict[int, int] = Field(default_factory=dict, description="Repeats done per repeat step.")
    started_at: datetime
    wake_at: datetime | None = None
    silenced_until: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ever_acknowledged: bool = False
    resolved_at: datetime | None = None
    notified: int = 0

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> EscalationState:
        return cls.model_validate_json(text)


def start(policy: Policy, incident_id: str, now: datetime) -> EscalationState:
    return EscalationState(incident_id=incident_id, policy_id=policy.id, started_at=now)


def advance(
    policy: Policy, state: EscalationState, now: datetime, counts: Sequence[datetime] = ()
) -> tuple[list[Notification], datetime | None, EscalationState]:
    """Run the policy from where it stopped until a wait, the end or a stop.

    `counts` are the times of the incident's timeline entries (signals, events), for
    `if_count_in_window`. Returns the notifications to send, when to call again, and the new state."""
    if state.status != "active":
        return [], None, state
    if state.silenced_until is not None:
        if now < state.silenced_until:
            return [], state.silenced_until, state
        state = state.model_copy(update={"silenced_until": None})
    if state.wake_at is not None and now < state.wake_at:
        return [], state.wake_at, state

    notes: list[Notification] = []
    cursor, round_, repeats = state.cursor, state.round, dict(state.repeats)
    steps = policy.steps

    def stop(status: EscalationStatus = "finished") -> tuple[list[Notification], None, EscalationState]:
        done = state.model_copy(
            update={
                "status": status,
                "cursor": cursor,
                "round": round_,
                "repeats": repeats,
                "wake_at": None,
                "notified": state.notified + len(notes),
            }
        )
        return notes, None, done

    for _ in range(MAX_STEPS_PER_CALL):
        if cursor >= len(steps):
            return stop()
        step = steps[cursor]
        if isinstance(step, NotifyStep):
            targets = step.notify
            notes.append(
                Notification(
                    incident_id=state.incident_id,
                    policy_id=policy.id,
                    step=cursor,
                    round=round_,
                    at=now,
                    channels=targets.channels,
                    users=targets.users,
                    roles=targets.roles,
                )
            )
            cursor += 1
        elif isinstance(step, WaitStep):
            return _pause(state, notes, cursor + 1, round_, repeats, now + step.wait)
        elif isinstance(step, RepeatStep):
            done = repeats.get(cursor, 0)
            if done < step.repeat.times:
                repeats[cursor] = done + 1
                # Inner repeat steps start counting afresh on every round of the outer one.
                for inner in range(step.repeat.from_step, cursor):
                    repeats.pop(inner, None)
                round_ += 1
                cursor = step.repeat.from_step
            else:
                cursor += 1
        elif isinstance(step, IfUnacknowledgedStep):
            if state.ever_acknowledged:
                return stop()
            cursor += 1
        elif isinstance(step, IfCountStep):
            window = step.if_count_in_window
            recent = sum(1 for at in counts if now - window.within < at <= now)
            if recent < window.count:
                return stop()
            cursor += 1
        elif isinstance(step, TimeRangeStep):
            hours = step.time_range
            if in_range(hours, now):
                cursor += 1
            elif hours.otherwise == "stop":
                return stop()
            elif hours.otherwise == "skip":
                cursor += 2
            else:
                return _pause(state, notes, cursor + 1, round_, repeats, next_start(hours, now))
    return stop()


def _pause(
    state: EscalationState,
    notes: list[Notification],
    cursor: int,
    round_: int,
    repeats: dict[int, int],
    wake_at: datetime,
) -> tuple[list[Notification], datetime, EscalationState]:
    new = state.model_copy(
        update={
            "cursor": cursor,
            "round": round_,
            "repeats": repeats,
            "wake_at": wake_at,
            "notified": state.notified + len(notes),
        }
    )
    return notes, wake_at, new


def acknowledge(state: EscalationState, by: str, now: datetime) -> EscalationState:
    """Stops the paging. Nobody is notified; the incident card shows who took it."""
    if state.status == "resolved":
        return state
    return state.model_copy(
        update={
            "status": "acknowledged",
            "acknowledged_at": now,
            "acknowledged_by": by,
            "ever_acknowledged": True,
            "wake_at": None,
        }
    )


def resolve(state: EscalationState, now: datetime) -> EscalationState:
    """Ends the escalation for good, without a notification."""
    return state.model_copy(update={"status": "resolved", "resolved_at": now, "wake_at": None})


def silence(state: EscalationState, until: datetime) -> EscalationState:
    """Hold every notification until `until`; the scheduler should call `advance` then."""
    if state.status in ("resolved", "finished"):
        return state
    return state.model_copy(update={"silenced_until": until})


def unsilence(state: EscalationState) -> EscalationState:
    return state.model_copy(update={"silenced_until": None})


def escalate_again(state: EscalationState, now: datetime) -> EscalationState:
    """The incident got worse (severity raised, or someone pressed escalate): run the steps again
    from the first, remembering whether it was ever acknowledged."""
    if state.status == "resolved":
        return state
    return state.model_copy(
        update={
            "status": "active",
            "cursor": 0,
            "round": 0,
            "repeats": {},
            "wake_at": None,
            "acknowledged_at": None,
        }
    )


def in_range(spec: TimeRangeSpec, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(spec.timezone))
    day, clock = DAYS[local.weekday()], local.time().replace(tzinfo=None)
    if spec.start <= spec.end:
        return day in spec.days and spec.start <= clock < spec.end
    # Crossing midnight: the night of Friday belongs to Friday, its early hours included.
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (day in spec.days and clock >= spec.start) or (yesterday in spec.days and clock < spec.end)


def next_start(spec: TimeRangeSpec, now: datetime) -> datetime:
    """The next time the range opens after `now`."""
    zone = ZoneInfo(spec.timezone)
    local = now.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        candidate = datetime.combine(day, spec.start, tzinfo=zone)
        if candidate > now and DAYS[day.weekday()] in spec.days:
            return candidate
    return now + timedelta(days=7)  # unreachable: days is never empty and a week covers every day
