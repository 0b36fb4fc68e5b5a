"""Test doubles and names shared by the Slack tests: the workspace, a clock, Ingest and Dispatch."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.events import Event
from bot.ports import CommandResult, IngestResult, StaffCommand
from bot.workspace import Workspace

TEAM_CHANNEL = "CTEAM00001"
CUSTOMER_CHANNEL = "CEXT000001"
LEA = "ULEA000001"  # staff, listed in vigie.yaml by Slack id
TOM = "UTOM000001"  # staff, listed by e-mail only
CAMILLE = "UCAM000001"  # staff, French
CUSTOMER = "UCUST00001"

WORKSPACE = Workspace.model_validate(
    {
        "channels": {"inbox": {"slack": TEAM_CHANNEL}},
        "staff": {
            "lea": {"name": "Léa", "roles": ["agent"], "slack": LEA},
            "tom": {"name": "Tom", "roles": ["agent", "approver"], "email": "tom@example.com"},
            "camille": {"name": "Camille", "roles": ["lead", "approver"], "slack": CAMILLE, "lang": "fr"},
        },
    }
)


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingIngest:
    """Stores each event once, like the real Ingest."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> IngestResult:
        with self.lock:
            self.calls += 1
            duplicate = any(known.id == event.id for known in self.events)
            if not duplicate:
                self.events.append(event)
        return IngestResult(id=event.id, duplicate=duplicate)


class RecordingDispatch:
    def __init__(self) -> None:
        self.commands: list[StaffCommand] = []
        self.handler: Callable[[StaffCommand], CommandResult] | None = None
        self.lock = threading.Lock()

    def __call__(self, command: StaffCommand) -> CommandResult:
        with self.lock:
            self.commands.append(command)
        if self.handler is not None:
            return self.handler(command)
        return CommandResult(ok=True, message=f"ok: {command.verb}")

    def verbs(self) -> list[str]:
        return [command.verb for command in self.commands]
