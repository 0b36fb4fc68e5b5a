"""Access fixtures: a runtime on the default workspace (camille lead/approver/admin, samir agent,
lea agent/moderator, tom agent/approver), each person also given a Slack id, a Discord id and an
e-mail, a real store and Redis, and one case with one pending draft to act on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.dispatch import Dispatcher
from bot.events import Author, Event
from bot.ingest import Ingestor
from bot.ports import CommandResult, StaffCommand
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from bot.store.base import Base
from bot.workspace import DEFAULT_WORKSPACE_YAML

DOORS = ("console", "cli", "slack", "discord")
STAFF = ("camille", "samir", "lea", "tom")
SLACK = {name: f"U0{name.upper()}" for name in STAFF}
DISCORD = {name: str(1000 + index) for index, name in enumerate(STAFF)}
UNKNOWN = {"console": "mallory", "cli": "mallory", "slack": "U0MALLORY", "discord": "666"}


def identity(door: str, staff: str) -> str:
    """How `staff` shows up at `door`: the staff id for the console and CLI, else the platform id."""
    if door == "slack":
        return SLACK[staff]
    if door == "discord":
        return DISCORD[staff]
    return staff


def workspace_yaml() -> str:
    data = yaml.safe_load(DEFAULT_WORKSPACE_YAML)
    assert {"camille", "samir", "lea", "tom"} <= set(data["staff"])
    for name, person in data["staff"].items():
        person.update(slack=SLACK[name], discord=DISCORD[name], email=f"{name}@maisonlune.example")
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@dataclass
class Access:
    rt: Runtime
    dispatch: Dispatcher
    case_id: int
    draft_id: int

    def do(self, door: str, actor: str, verb: str, /, **args: Any) -> CommandResult:
        return self.dispatch(StaffCommand(door=door, actor=actor, verb=verb, args=args))

    def as_staff(self, door: str, staff: str, verb: str, /, **args: Any) -> CommandResult:
        return self.do(door, identity(door, staff), verb, **args)

    def audit_actions(self) -> list[str]:
        from bot.store.models import AuditEntry

        with self.rt.store.unit() as unit:
            return [row.action for row in unit.session.query(AuditEntry).order_by(AuditEntry.id)]


@pytest.fixture
def access(database_url: str, redis_url: str, redis_client: object, tmp_path: Path) -> Iterator[Access]:
    workspace = tmp_path / "vigie.yaml"
    workspace.write_text(workspace_yaml(), "utf-8")
    settings = load_settings(
        data_dir=tmp_path, database_url=database_url, redis_url=redis_url, workspace=workspace
    )
    rt = build_runtime(settings)
    Base.metadata.create_all(rt.store.db.engine)  # tables a pending migration may not have yet
    try:
        event = Event(
            source="webchat",
            kind="dm",
            external_id="access-1",
            text="Bonjour, mon colis est arrivé cassé.",
            author=Author(id="cust-1", name="Customer"),
        )
        Ingestor(rt.store, rt.queue)(event)
        dispatch = Dispatcher(rt)
        opened = dispatch(
            StaffCommand(
                door="cli", actor="camille", verb="open", args={"event_id": event.id, "team": "after-sales"}
            )
        )
        assert opened.ok, opened.message
        case_id = int(opened.data["case"]["id"])  # type: ignore[index,call-overload]
        proposed = dispatch(
            StaffCommand(
                door="cli",
                actor="samir",
                verb="draft",
                args={"case_id": case_id, "text": "Nous vous renvoyons un colis."},
            )
        )
        assert proposed.ok, proposed.message
        draft_id = int(proposed.data["draft"]["id"])  # type: ignore[index,call-overload]
        yield Access(rt, dispatch, case_id, draft_id)
    finally:
        rt.close()
