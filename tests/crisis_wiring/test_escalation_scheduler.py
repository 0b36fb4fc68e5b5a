"""Each step type of an escalation policy, run by the REAL RQ scheduler: a `vigie worker` subprocess
started with the scheduler runs `bot.jobs.run_timer` → `bot.timers.run_timer` → the crisis timer,
with waits of one second."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.crisis_service import dispatch_crisis, process_signals
from bot.ports import StaffCommand
from bot.runtime import Runtime
from tests.crisis_wiring.support import (
    facts_of,
    incident,
    make_event,
    open_incident,
    pages,
    signal_for,
    wait_until,
)

Worker = Callable[[Runtime], subprocess.Popen[bytes]]


def policies(now: datetime) -> str:
    inside = (
        f'{{from: "{(now - timedelta(hours=1)):%H:%M}", to: "{(now + timedelta(hours=1)):%H:%M}", '
        "timezone: UTC}"
    )
    outside = (
        f'{{from: "{(now + timedelta(hours=2)):%H:%M}", to: "{(now + timedelta(hours=3)):%H:%M}", '
        "timezone: UTC, otherwise: stop}"
    )
    return f"""
version: 1
policies:
  - id: repeat
    match: {{scopes: ["brand:repeat*"]}}
    steps:
      - notify: {{users: [tom]}}
      - wait: 1s
      - repeat: 2
  - id: ackstop
    match: {{scopes: ["brand:ack*"]}}
    steps:
      - notify: {{users: [tom]}}
      - wait: 1s
      - repeat: 5
  - id: unacked
    match: {{scopes: ["brand:unacked*"]}}
    steps:
      - notify: {{roles: [lead]}}
      - wait: 1s
      - if_unacknowledged
      - notify: {{users: [tom]}}
  - id: counting
    match: {{scopes: ["brand:count*"]}}
    steps:
      - notify: {{channels: [crisis]}}
      - wait: 1s
      - if_count_in_window: {{count: 3, within: 10m}}
      - notify: {{users: [tom]}}
  - id: hours-in
    match: {{scopes: ["brand:hours-in*"]}}
    steps:
      - notify: {{channels: [crisis]}}
      - wait: 1s
      - time_range: {inside}
      - notify: {{users: [tom]}}
  - id: hours-out
    match: {{scopes: ["brand:hours-out*"]}}
    steps:
      - notify: {{channels: [crisis]}}
      - wait: 1s
      - time_range: {outside}
      - notify: {{users: [tom]}}
  - id: default
    steps:
      - notify: {{channels: [crisis]}}
"""


def test_notify_wait_and_repeat_stop_after_n_rounds(
    make_runtime: Callable[..., Runtime], start_worker: Worker
) -> None:
    rt = make_runtime(policies(datetime.now(UTC)))
    start_worker(rt)
    started = time.monotonic()
    inc = open_incident(rt, "repeat-a", 1)
    assert pages(rt, inc) == [["tom"]], "the first notify runs at once"
    assert wait_until(lambda: len(pages(rt, inc)) == 3, timeout=8)
    assert time.monotonic() - started >= 1.5, "two waits of one second between three rounds"
    time.sleep(2.2)  # a fourth round would have come by now
    assert pages(rt, inc) == [["tom"]] * 3
    assert incident(rt, inc).escalation["status"] == "finished"  # type: ignore[index]


def test_acknowledge_stops_the_paging(make_runtime: Callable[..., Runtime], start_worker: Worker) -> None:
    rt = make_runtime(policies(datetime.now(UTC)))
    start_worker(rt)
    inc = open_incident(rt, "ack-a", 2)
    assert wait_until(lambda: len(pages(rt, inc)) == 2, timeout=6)
    result = dispatch_crisis(
        rt, StaffCommand(door="console", actor="lea", verb="ack", args={"incident_id": inc})
    )
    assert result.ok, result.message
    paged = len(pages(rt, inc))
    time.sleep(2.5)
    assert len(pages(rt, inc)) == paged
    row = incident(rt, inc)
    assert row.status == "acknowledged" and row.acknowledged_by == "lea"


def test_if_unacknowledged_goes_on_only_for_nobody_s_incident(
    make_runtime: Callable[..., Runtime], start_worker: Worker
) -> None:
    rt = make_runtime(policies(datetime.now(UTC)))
    start_worker(rt)
    alone = open_incident(rt, "unacked-a", 3)
    taken = open_incident(rt, "unacked-b", 4)
    assert dispatch_crisis(
        rt, StaffCommand(door="cli", actor="tom", verb="ack", args={"incident_id": taken})
    ).ok
    # It gets worse: severity rises, the steps run again, and `if_unacknowledged` stops them.
    worse = make_event(5, brand="unacked-b")
    process_signals(rt, worse, facts_of(worse), [signal_for(worse, 3.0)])
    assert incident(rt, taken).severity == "major"

    assert wait_until(lambda: len(pages(rt, alone)) == 2, timeout=6)
    assert pages(rt, alone) == [["camille"], ["tom"]]
    time.sleep(1.5)
    assert pages(rt, taken) == [["camille"], ["camille"]], "paged again on the rise, never past the check"


def test_if_count_in_window_goes_on_only_while_it_grows(
    make_runtime: Callable[..., Runtime], start_worker: Worker
) -> None:
    rt = make_runtime(policies(datetime.now(UTC)))
    start_worker(rt)
    growing = open_incident(rt, "count-a", 6)
    calm = open_incident(rt, "count-b", 7)
    for n in range(8, 11):  # three more events of count-a's brand within the window
        event = make_event(n, brand="count-a")
        process_signals(rt, event, facts_of(event), [])

    assert wait_until(lambda: len(pages(rt, growing)) == 1, timeout=6)
    assert pages(rt, growing) == [["tom"]], (
        "the channel was told by the card itself, tom once it kept growing"
    )
    time.sleep(0.5)
    assert pages(rt, calm) == []
    assert incident(rt, calm).escalation["status"] == "finished"  # type: ignore[index]


def test_time_range_pages_inside_and_stops_outside(
    make_runtime: Callable[..., Runtime], start_worker: Worker
) -> None:
    rt = make_runtime(policies(datetime.now(UTC)))
    start_worker(rt)
    inside = open_incident(rt, "hours-in", 11)
    outside = open_incident(rt, "hours-out", 12)
    assert wait_until(lambda: len(pages(rt, inside)) == 1, timeout=6)
    assert pages(rt, inside) == [["tom"]]
    assert wait_until(lambda: (incident(rt, outside).escalation or {}).get("status") == "finished", timeout=4)
    assert pages(rt, outside) == []


def test_silence_holds_the_pages_then_resumes(
    make_runtime: Callable[..., Runtime], start_worker: Worker
) -> None:
    rt = make_runtime(policies(datetime.now(UTC)))
    start_worker(rt)
    inc = open_incident(rt, "ack-silenced", 13)
    until = datetime.now(UTC) + timedelta(seconds=62)
    result = dispatch_crisis(
        rt,
        StaffCommand(
            door="slack", actor="U0CAMILLE", verb="silence", args={"incident_id": inc, "duration": "62s"}
        ),
    )
    assert result.ok, result.message
    time.sleep(2.5)
    assert pages(rt, inc) == [["tom"]], "nothing during the silence"
    row = incident(rt, inc)
    assert row.silenced_until is not None and abs((row.silenced_until - until).total_seconds()) < 5
    scheduled = rt.queue.timers.scheduled_job_registry.get_job_ids()
    assert any(inc in job_id for job_id in scheduled), "the paging resumes when the silence ends"
