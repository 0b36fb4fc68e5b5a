"""The step engine on a fake clock: each step type, acknowledge, repeats, silence, resolve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.crisis.escalation import (
    EscalationState,
    Notification,
    acknowledge,
    advance,
    escalate_again,
    resolve,
    silence,
    start,
)
from bot.crisis.policy import Policy, parse_crisis_config

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Paris


def policy(steps: str) -> Policy:
    return parse_crisis_config(f"policies:\n  - id: p\n    steps: {steps}\n").policies[0]


def drive(
    p: Policy, state: EscalationState, now: datetime, counts: Sequence[datetime] = (), limit: int = 50
) -> tuple[list[Notification], EscalationState]:
    """Call `advance` at every wake-up, as the scheduler would, until it says there is nothing left."""
    sent: list[Notification] = []
    for _ in range(limit):
        notes, wake, state = advance(p, state, now, counts)
        sent += notes
        if wake is None:
            break
        now = wake
    return sent, state


def test_notify_then_wait_then_notify() -> None:
    p = policy("[{notify: {channels: [crisis]}}, {wait: 5m}, {notify: {roles: [lead], users: [camille]}}]")
    state = start(p, "inc-1", NOW)
    notes, wake, state = advance(p, state, NOW)
    assert [n.channels for n in notes] == [("crisis",)] and wake == NOW + timedelta(minutes=5)
    assert advance(p, state, NOW + timedelta(minutes=4))[0] == []  # too early: nothing
    notes, wake, state = advance(p, state, NOW + timedelta(minutes=5))
    assert [(n.roles, n.users) for n in notes] == [(("lead",), ("camille",))]
    assert wake is None and state.status == "finished"


def test_a_duplicated_wakeup_sends_nothing_twice() -> None:
    p = policy("[{notify: {roles: [lead]}}, {wait: 5m}, {notify: {roles: [lead]}}, {wait: 5m}]")
    _, wake, state = advance(p, start(p, "inc-1", NOW), NOW)
    assert wake is not None
    first, _, state = advance(p, state, wake)
    second, _, _ = advance(p, state, wake)
    assert len(first) == 1 and second == []
    assert first[0].key != advance(p, start(p, "inc-1", NOW), NOW)[0][0].key


def test_repeats_stop_at_n() -> None:
    p = policy("[{notify: {roles: [lead]}}, {wait: 10m}, {repeat: 3}]")
    sent, state = drive(p, start(p, "inc-1", NOW), NOW)
    assert len(sent) == 4  # the first pass and three repeats
    assert [n.round for n in sent] == [0, 1, 2, 3]
    assert len({n.key for n in sent}) == 4 and state.status == "finished"


def test_repeat_from_a_later_step() -> None:
    p = policy(
        "[{notify: {channels: [crisis]}}, {notify: {roles: [lead]}}, {wait: 1m},"
        " {repeat: {times: 2, from: 1}}]"
    )
    sent, _ = drive(p, start(p, "inc-1", NOW), NOW)
    assert [n.step for n in sent] == [0, 1, 1, 1]


def test_acknowledge_stops_the_paging() -> None:
    p = policy("[{notify: {roles: [lead]}}, {wait: 5m}, {repeat: 5}]")
    _, wake, state = advance(p, start(p, "inc-1", NOW), NOW)
    state = acknowledge(state, "camille", NOW + timedelta(minutes=2))
    assert wake is not None
    notes, next_wake, state = advance(p, state, wake)
    assert notes == [] and next_wake is None
    assert state.acknowledged_by == "camille"


def test_if_unacknowledged_lets_a_re_escalation_inform_without_paging() -> None:
    p = policy("[{notify: {channels: [crisis]}}, if_unacknowledged, {notify: {roles: [lead]}}]")
    sent, state = drive(p, start(p, "inc-1", NOW), NOW)
    assert [n.step for n in sent] == [0, 2]
    state = acknowledge(state, "camille", NOW + timedelta(minutes=1))
    again, state = drive(p, escalate_again(state, NOW + timedelta(minutes=9)), NOW + timedelta(minutes=9))
    assert [n.step for n in again] == [0]  # the channel hears about it; the lead, who has it, is not paged


def test_if_count_in_window_goes_on_only_while_the_incident_grows() -> None:
    p = policy(
        "[{notify: {channels: [crisis]}}, {if_count_in_window: {count: 3, within: 10m}},"
        " {notify: {roles: [lead]}}]"
    )
    busy = [NOW - timedelta(minutes=m) for m in (1, 2, 3)]
    stale = [NOW - timedelta(minutes=m) for m in (1, 20, 30)]
    assert len(drive(p, start(p, "inc-1", NOW), NOW, busy)[0]) == 2
    assert len(drive(p, start(p, "inc-1", NOW), NOW, stale)[0]) == 1


def test_time_range_stop_skip_and_wait() -> None:
    office = "{from: '09:00', to: '18:00', days: [mon, tue, wed, thu, fri], timezone: Europe/Paris"
    night = NOW.replace(hour=21)  # 22:00 in Paris
    for otherwise, expected in (("stop", [0]), ("skip", [0, 3])):
        p = policy(
            f"[{{notify: {{channels: [crisis]}}}}, {{time_range: {office}, otherwise: {otherwise}}}}},"
            " {notify: {roles: [lead]}}, {notify: {users: [tom]}}]"
        )
        assert [n.step for n in drive(p, start(p, "inc-1", night), night)[0]] == expected
        assert [n.step for n in drive(p, start(p, "inc-1", NOW), NOW)[0]] == [0, 2, 3]
    p = policy(
        f"[{{notify: {{channels: [crisis]}}}}, {{time_range: {office}, otherwise: wait}}}},"
        " {notify: {roles: [lead]}}]"
    )
    notes, wake, state = advance(p, start(p, "inc-1", night), night)
    assert [n.step for n in notes] == [0]
    assert wake == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)  # Thursday 09:00 in Paris
    assert [n.step for n in advance(p, state, wake)[0]] == [2]


def test_a_range_across_midnight() -> None:
    p = policy(
        "[{time_range: {from: '22:00', to: '06:00', days: [fri], otherwise: stop}}, {notify: {users: [tom]}}]"
    )
    friday_night = datetime(2026, 3, 6, 23, 0, tzinfo=UTC)
    for at, expected in (
        (friday_night, 1),
        (friday_night + timedelta(hours=4), 1),
        (friday_night + timedelta(days=1), 0),
    ):
        assert len(drive(p, start(p, "inc-1", at), at)[0]) == expected


def test_silence_holds_everything_then_resumes_where_it_was() -> None:
    p = policy("[{notify: {roles: [lead]}}, {wait: 5m}, {notify: {roles: [approver]}}]")
    _, _, state = advance(p, start(p, "inc-1", NOW), NOW)
    until = NOW + timedelta(hours=1)
    state = silence(state, until)
    notes, wake, state = advance(p, state, NOW + timedelta(minutes=5))
    assert notes == [] and wake == until
    notes, wake, state = advance(p, state, until)
    assert [n.roles for n in notes] == [("approver",)] and wake is None


def test_resolve_ends_it_without_a_ping() -> None:
    p = policy("[{notify: {roles: [lead]}}, {wait: 5m}, {repeat: 2}]")
    _, _, state = advance(p, start(p, "inc-1", NOW), NOW)
    state = resolve(state, NOW + timedelta(minutes=1))
    assert advance(p, state, NOW + timedelta(minutes=5)) == ([], None, state)
    assert escalate_again(state, NOW + timedelta(minutes=6)).status == "resolved"


def test_state_is_json() -> None:
    p = policy("[{notify: {roles: [lead]}}, {wait: 5m}, {repeat: 2}]")
    _, wake, state = advance(p, start(p, "inc-1", NOW), NOW)
    restored = EscalationState.from_json(state.to_json())
    assert restored == state
    assert wake is not None and advance(p, restored, wake)[0] == advance(p, state, wake)[0]
