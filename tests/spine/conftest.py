"""The end-to-end runtime the spine's pipeline tests share: real Redis, a real store (SQLite, and
PostgreSQL when configured), the default workspace. Files that need SQLite only define their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.jobs import install_runtime
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings


@pytest.fixture
def runtime(database_url: str, redis_url: str, redis_client: object, tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(
        data_dir=tmp_path, database_url=database_url, redis_url=redis_url, workspace=None
    )
    rt = build_runtime(settings)
    install_runtime(rt)
    try:
        yield rt
    finally:
        install_runtime(None)
        rt.close()
