"""Digests and retention on RQ's scheduler: each run posts once and schedules the next."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.events import Author, Event
from bot.ingest import Ingestor
from bot.periodic import ensure_scheduled, next_retention, run_digest
from bot.platforms.console.chat import read_channel
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from bot.workspace import DEFAULT_WORKSPACE_YAML

WORKSPACE = (
    DEFAULT_WORKSPACE_YAML
    + """
digests:
  daily: {at: "09:00", channels: [inbox]}
  weekly: {day: mon, at: "09:00", channels: [inbox]}
"""
)


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


def test_first_runs_are_scheduled_once_per_kind(runtime: Runtime) -> None:
    ensure_scheduled(runtime)
    ensure_scheduled(runtime)  # a second worker starting: the same keys, nothing doubled
    assert runtime.queue.timers.scheduled_job_registry.count == 3  # daily, weekly, retention


def test_a_digest_run_posts_once_and_schedules_the_next(runtime: Runtime) -> None:
    today = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    Ingestor(runtime.store, runtime.queue)(
        Event(
            source="trustpilot",
            kind="review",
            external_id="r1",
            text="Super service, merci !",
            author=Author(id="a1"),
            rating=5,
            created_at=today - timedelta(hours=20),
        )
    )
    args = {"kind": "daily", "run_at": today.isoformat()}  # covers the previous local day
    run_digest(runtime, args)
    run_digest(runtime, args)  # the job ran twice: still one post
    posts = read_channel(runtime.store, "inbox")
    assert len(posts) == 1
    assert dict(posts[0][2].fields)["Volume"].startswith("1 ")
    assert runtime.queue.timers.scheduled_job_registry.count == 1


def test_retention_runs_daily_at_a_quiet_hour() -> None:
    before = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    after = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    assert next_retention(before) == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
    assert next_retention(after) == datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
