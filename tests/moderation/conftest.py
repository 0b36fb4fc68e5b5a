"""Moderation fixtures: a store (SQLite file; PostgreSQL in a fresh schema when
VIGIE_TEST_DATABASE_URL is set), a workspace with one member per staff role, and helpers to build
Discord-like events and slash commands."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from bot.events import Author, Event, JsonScalar, JsonValue  # noqa: E402
from bot.ports import StaffCommand  # noqa: E402
from bot.workspace import Workspace  # noqa: E402

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
GUILD = "111"
SCOPE = f"discord:{GUILD}"
MEMBER = "500"

# Discord ids of staff, by role.
MODERATOR, LEAD, ADMIN, AGENT, APPROVER = "900", "901", "902", "903", "904"


def make_workspace(language: str = "en") -> Workspace:
    return Workspace.model_validate(
        {
            "language": language,
            "staff": {
                "lea": {"name": "Léa", "roles": ["agent", "moderator"], "discord": MODERATOR},
                "camille": {"name": "Camille", "roles": ["lead"], "discord": LEAD},
                "root": {"name": "Root", "roles": ["admin"], "discord": ADMIN},
                "samir": {"name": "Samir", "roles": ["agent"], "discord": AGENT},
                "tom": {"name": "Tom", "roles": ["approver"], "discord": APPROVER},
            },
        }
    )


def event(
    external_id: str = "m1",
    *,
    author: str = MEMBER,
    roles: tuple[str, ...] = (),
    guild: str | None = GUILD,
    metadata: dict[str, JsonScalar] | None = None,
) -> Event:
    meta: dict[str, JsonScalar] = {"message_id": external_id}
    if guild:
        meta["guild_id"] = guild
    meta.update(metadata or {})
    return Event(
        source="discord",
        kind="message",
        external_id=external_id,
        text="you are an idiot",
        author=Author(id=author, name="Bob", roles=roles),
        channel="222",
        created_at=NOW,
        metadata=meta,
    )


def command(verb: str, actor: str = MODERATOR, **args: JsonValue) -> StaffCommand:
    """A slash command as the Discord adapter sends it (`lang` defaults to English)."""
    merged: dict[str, JsonValue] = {"lang": "en", "guild_id": GUILD, "channel": "333", "roles": []}
    merged.update(args)
    return StaffCommand(door="discord", actor=actor, verb=verb, args=merged)


@pytest.fixture
def workspace() -> Workspace:
    return make_workspace()
