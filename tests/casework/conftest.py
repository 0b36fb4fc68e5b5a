"""Casework fixtures: a store (SQLite file; PostgreSQL in a fresh schema when VIGIE_TEST_DATABASE_URL
is set) and a harness around a real CaseDesk with a fake clock, scheduler, emitter and ethics check."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from bot.casework.desk import CaseDesk  # noqa: E402
from bot.casework.replies import load_replies  # noqa: E402
from bot.events import Effect  # noqa: E402
from bot.store.unit import Store  # noqa: E402
from bot.workspace import Workspace  # noqa: E402
from tests.casework.support import (  # noqa: E402
    REPO,
    Clock,
    Endpoint,
    Ethics,
    FakeScheduler,
    Harness,
    make_workspace,
)


@pytest.fixture
def make_harness(store: Store) -> Callable[..., Harness]:
    def build(workspace: Workspace | None = None, clock: Clock | None = None) -> Harness:
        ws = workspace or make_workspace()
        clk = clock or Clock()
        scheduler = FakeScheduler()
        ethics = Ethics(block={"idiot": "Never insult a customer."})
        emitted: list[Effect] = []
        desk = CaseDesk(
            store,
            ws,
            emitted.extend,
            scheduler,
            ethics,
            clock=clk,
            replies=load_replies(REPO / "rules" / "replies"),
        )
        return Harness(store, ws, clk, scheduler, ethics, emitted, desk)

    return build


@pytest.fixture
def h(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()
