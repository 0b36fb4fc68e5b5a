"""Crisis wiring fixtures: a runtime on the real store and a real Redis, a copy of the bundled rules
with a test escalation file, a workspace with a crisis channel, and a worker subprocess started
with RQ's scheduler for the tests that go through scheduled steps."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from bot.jobs import install_runtime  # noqa: E402
from bot.runtime import Runtime, build_runtime  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.store.base import Base  # noqa: E402

WORKSPACE_YAML = """
language: en
channels:
  inbox: {console: inbox}
  crisis: {console: crisis}
  ops: {console: ops}
default_channel: inbox
teams:
  community: {channel: inbox, lead: camille}
staff:
  camille: {name: Camille, roles: [lead, approver, admin], teams: [community], slack: U0CAMILLE}
  tom:     {name: Tom, roles: [agent, approver], teams: [community], discord: "4242"}
  lea:     {name: Léa, roles: [agent, moderator], teams: [community]}
  samir:   {name: Samir, roles: [agent], teams: [community]}
"""


@pytest.fixture
def make_runtime(
    database_url: str, redis_url: str, redis_client: object, tmp_path: Path
) -> Iterator[Callable[..., Runtime]]:
    """Build the runtime with an escalation file (the bundled one when None) and a workspace."""
    built: list[Runtime] = []

    def build(escalation: str | None = None, workspace: str = WORKSPACE_YAML) -> Runtime:
        rules = tmp_path / "rules"
        if not rules.exists():
            shutil.copytree(ROOT / "rules", rules)
        if escalation is not None:
            (rules / "escalation.yaml").write_text(escalation, encoding="utf-8")
        ws = tmp_path / "vigie.yaml"
        ws.write_text(workspace, encoding="utf-8")
        settings = load_settings(
            data_dir=tmp_path, database_url=database_url, redis_url=redis_url, workspace=ws, rules_dir=rules
        )
        rt = build_runtime(settings)
        # The lead regenerates the migration from the models; until then the crisis tables come from here.
        Base.metadata.create_all(rt.store.db.engine)
        install_runtime(rt)
        built.append(rt)
        return rt

    yield build
    install_runtime(None)
    for rt in built:
        rt.close()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[Runtime], subprocess.Popen[bytes]]]:
    """`vigie worker` (RQ with the scheduler) in a subprocess on the runtime's store and Redis."""
    started: list[subprocess.Popen[bytes]] = []

    def start(rt: Runtime) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.update(
            VIGIE_DATA_DIR=str(tmp_path),
            VIGIE_DATABASE_URL=rt.store.db.url,
            VIGIE_REDIS_URL=rt.redis.url,
            VIGIE_RULES_DIR=str(rt.settings.rules_path),
            VIGIE_WORKSPACE=str(rt.settings.workspace_path),
            VIGIE_WORKER__SWEEP_INTERVAL_SECONDS="30",
        )
        process = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, cwd=ROOT)
        started.append(process)
        deadline = time.monotonic() + 30
        while rt.queue.live_workers() == 0:
            assert process.poll() is None, "the worker exited at start-up"
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.05)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
