"""`vigie forget` erases a person's data: an admin action, whoever types it (`--as`, vigie.yaml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.events import Author, Event
from bot.ingest import Ingestor
from tests.access.conftest import Access

REPO = Path(__file__).resolve().parents[2]


def vigie(access: Access, *args: str) -> subprocess.CompletedProcess[str]:
    settings = access.rt.settings
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")},
        "VIGIE_DATA_DIR": str(settings.data_dir),
        "VIGIE_DATABASE_URL": settings.sqlalchemy_url,
        "VIGIE_WORKSPACE": str(settings.workspace),
        "VIGIE_PRIVACY_SALT": "access-test-salt",
    }
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("actor", ["samir", "lea", "tom", "mallory", "cli", "U0CAMILLE"])
def test_forget_refuses_anyone_but_an_admin(access: Access, actor: str) -> None:
    event = Event(
        source="webchat",
        kind="dm",
        external_id="fg-1",
        text="Mon adresse: 3 rue X",
        author=Author(id="cust-9"),
    )
    Ingestor(access.rt.store, access.rt.queue)(event)
    done = vigie(access, "forget", "--author", "webchat:cust-9", "--yes", "--as", actor, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("vigie: ") and "nothing erased" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    with access.rt.store.unit() as unit:
        assert unit.events.get(event.id) is not None
    assert "privacy.erasure" not in access.audit_actions()


def test_forget_by_an_admin_erases_and_is_audited(access: Access) -> None:
    event = Event(
        source="webchat",
        kind="dm",
        external_id="fg-2",
        text="Mon adresse: 3 rue X",
        author=Author(id="cust-9"),
    )
    Ingestor(access.rt.store, access.rt.queue)(event)
    done = vigie(access, "forget", "--author", "webchat:cust-9", "--yes", "--as", "camille", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == 1
    with access.rt.store.unit() as unit:
        assert unit.events.get(event.id) is None
    assert access.audit_actions().count("privacy.erasure") == 1
