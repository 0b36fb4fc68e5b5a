"""Survey fixtures: a runtime on the real store and a real Redis with a workspace whose survey is
on (or off), a customer who writes, and the staff door and worker that move their case."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from bot.dispatch import Dispatcher  # noqa: E402
from bot.events import Author, Event  # noqa: E402
from bot.ingest import Ingestor  # noqa: E402
from bot.jobs import install_runtime  # noqa: E402
from bot.platforms.console.chat import read_channel  # noqa: E402
from bot.ports import Card, CommandResult, StaffCommand  # noqa: E402
from bot.queue import run_worker  # noqa: E402
from bot.runtime import Runtime, build_runtime  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.store.base import Base  # noqa: E402

WORKSPACE = """
language: {language}
channels:
  inbox: {{console: inbox}}
  after-sales: {{console: after-sales}}
default_channel: inbox
# Long enough that a late rating still joins (and reopens) the case as an ordinary message would.
conversation_window: 30d
teams:
  after-sales: {{channel: after-sales, lead: camille}}
staff:
  camille: {{name: Camille, roles: [lead, approver, admin], teams: [after-sales]}}
  samir:   {{name: Samir, roles: [agent], teams: [after-sales]}}
survey:
  enabled: {enabled}
  answer_within: 7d
"""


@dataclass
class Desk:
    """One deployment seen from outside: customers write, staff act at the CLI door, a worker runs."""

    rt: Runtime
    counter: int = 0

    def write(self, text: str, *, author: str = "cust-1", created_at: datetime | None = None) -> Event:
        self.counter += 1
        fields: dict[str, object] = {
            "source": "webchat",
            "kind": "dm",
            "external_id": f"m-{self.counter}",
            "text": text,
            "author": Author(id=author, name="Customer"),
        }
        if created_at is not None:
            fields["created_at"] = created_at
        event = Event.model_validate(fields)
        Ingestor(self.rt.store, self.rt.queue)(event)
        self.work()
        return event

    def staff(self, verb: str, **args: object) -> CommandResult:
        result = Dispatcher(self.rt)(StaffCommand(door="cli", actor="camille", verb=verb, args=dict(args)))
        assert result.ok, result.message
        self.work()
        return result

    def work(self) -> None:
        run_worker(self.rt.redis.client, burst=True, with_scheduler=False)

    def surveys(self) -> list[Card]:
        """The questions the customer received (the console outbox stands in for the platform)."""
        return [
            card
            for _id, _thread, card in read_channel(self.rt.store, "outbox")
            if (card.footer or "").endswith(":survey")
        ]


@pytest.fixture
def make_desk(
    database_url: str, redis_url: str, redis_client: object, tmp_path: Path
) -> Iterator[Callable[..., Desk]]:
    built: list[Runtime] = []

    def build(*, enabled: bool = True, language: str = "en") -> Desk:
        workspace = tmp_path / "vigie.yaml"
        workspace.write_text(WORKSPACE.format(enabled=str(enabled).lower(), language=language), "utf-8")
        settings = load_settings(
            data_dir=tmp_path, database_url=database_url, redis_url=redis_url, workspace=workspace
        )
        rt = build_runtime(settings)
        # Tables the migration may not have yet (the lead regenerates it from the models).
        Base.metadata.create_all(rt.store.db.engine)
        install_runtime(rt)
        built.append(rt)
        return Desk(rt)

    yield build
    install_runtime(None)
    for rt in built:
        rt.close()


@pytest.fixture
def desk(make_desk: Callable[..., Desk]) -> Desk:
    return make_desk()
