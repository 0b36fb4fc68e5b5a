"""Fixtures of the report tests: a SQLite store built from the current models, with the audit log's
append-only triggers, and the hand-checked week of `reports_history`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.base import Base, make_engine
from bot.store.unit import Store
from bot.workspace import Workspace
from tests.reports.reports_history import TRIGGERS, WORKSPACE, populate


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'reports.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        for statement in TRIGGERS:
            connection.execute(text(statement))
    engine.dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    value = Store(store_url)
    try:
        yield value
    finally:
        value.dispose()


@pytest.fixture
def workspace() -> Workspace:
    return WORKSPACE


@pytest.fixture
def history(store: Store) -> Store:
    populate(store)
    return store
