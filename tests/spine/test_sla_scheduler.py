"""SLA warning and breach fired by RQ's real scheduler in a worker process (short SLAs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.dispatch import Dispatcher
from bot.events import Author, Event
from bot.ingest import Ingestor
from bot.ports import StaffCommand
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from bot.store.models import AuditEntry, CaseRow

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = """
language: en
channels: {inbox: {console: inbox}, after-sales: {console: after-sales}}
teams:
  after-sales:
    channel: after-sales
    lead: camille
    working_hours: {mon: "00:00-00:00", tue: "00:00-00:00", wed: "00:00-00:00", thu: "00:00-00:00",
                    fri: "00:00-00:00", sat: "00:00-00:00", sun: "00:00-00:00"}
    sla:
      urgent: {first_response: 6s, warn_before: 3s, business_hours: false}
staff:
  camille: {name: Camille, roles: [lead, approver, admin], teams: [after-sales]}
  samir: {name: Samir, roles: [agent], teams: [after-sales]}
"""


@pytest.fixture
def runtime(sqlite_url: str, redis_url: str, redis_client: object, tmp_path: Path) -> Iterator[Runtime]:
    workspace = tmp_path / "vigie.yaml"
    workspace.write_text(WORKSPACE, encoding="utf-8")
    rt = build_runtime(
        load_settings(data_dir=tmp_path, database_url=sqlite_url, redis_url=redis_url, workspace=workspace)
    )
    try:
        yield rt
    finally:
        rt.close()


def sla_actions(rt: Runtime, case_id: int) -> list[str]:
    with rt.store.unit() as unit:
        rows = unit.session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == f"case:{case_id}").order_by(AuditEntry.id)
        )
        return [action for action in rows if action.startswith("sla.")]


@pytest.mark.slow
def test_warning_then_breach_fire_on_the_real_scheduler(runtime: Runtime, tmp_path: Path) -> None:
    event = Event(
        source="trustpilot",
        kind="review",
        external_id="sla-1",
        text="Colis cassé",
        rating=1,
        author=Author(id="c-1", name="Client"),
    )
    Ingestor(runtime.store, runtime.queue)(event)
    opened = Dispatcher(runtime)(
        StaffCommand(
            door="cli",
            actor="camille",
            verb="open",
            args={"event_id": event.id, "team": "after-sales", "priority": "urgent"},
        )
    )
    assert opened.ok, opened.message
    case_id = opened.data["case"]["id"]  # type: ignore[index,call-overload]
    env = dict(
        os.environ,
        VIGIE_DATA_DIR=str(tmp_path),
        VIGIE_DATABASE_URL=runtime.store.db.url,
        VIGIE_REDIS_URL=runtime.redis.url,
        VIGIE_WORKSPACE=str(tmp_path / "vigie.yaml"),
        VIGIE_RULES_DIR=str(REPO / "rules"),
    )
    worker = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "sla.missed" not in sla_actions(runtime, case_id):
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        # A SIGTERM that lands between RQ's stop check and its blocking dequeue waits that dequeue
        # out (worker_ttl - 15 = 45 s): seen once in a full CI run.
        worker.wait(timeout=60)
    actions = sla_actions(runtime, case_id)
    assert actions[:2] == ["sla.warned", "sla.missed"], actions
    with runtime.store.unit() as unit:
        case = unit.session.get(CaseRow, case_id)
        assert case is not None and case.sla["targets"]["first_response"]["status"] == "missed"


ROUTING = """
applies_to: incoming
description: Route broken parcels to after-sales, urgent (the 6 s SLA above)
rules:
  - id: broken
    description: A broken parcel
    priority: 20
    when:
      text: {words: [cassé], mode: word}
    then: [{route: {team: after-sales, priority: urgent}}]
"""


@pytest.mark.slow
def test_timers_set_by_routing_in_the_worker_fire_on_the_real_scheduler(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The worker routes the event and schedules its SLA timers after its transaction commits; RQ's
    scheduler in the same worker process then runs the warning and the breach."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "routing.yaml").write_text(ROUTING, encoding="utf-8")
    event = Event(
        source="trustpilot",
        kind="review",
        external_id="sla-routed-1",
        text="Colis cassé",
        rating=1,
        author=Author(id="c-2", name="Client"),
    )
    Ingestor(runtime.store, runtime.queue)(event)
    env = dict(
        os.environ,
        VIGIE_DATA_DIR=str(tmp_path),
        VIGIE_DATABASE_URL=runtime.store.db.url,
        VIGIE_REDIS_URL=runtime.redis.url,
        VIGIE_WORKSPACE=str(tmp_path / "vigie.yaml"),
        VIGIE_RULES_DIR=str(rules),
    )
    worker = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, cwd=REPO)
    case_id: int | None = None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with runtime.store.unit() as unit:
                case_id = unit.session.scalar(select(CaseRow.id).where(CaseRow.first_event_id == event.id))
            if case_id is not None and "sla.missed" in sla_actions(runtime, case_id):
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        # A SIGTERM that lands between RQ's stop check and its blocking dequeue waits that dequeue
        # out (worker_ttl - 15 = 45 s): seen once in a full CI run.
        worker.wait(timeout=60)
    assert case_id is not None, "the worker did not route the event"
    assert sla_actions(runtime, case_id)[:2] == ["sla.warned", "sla.missed"]
