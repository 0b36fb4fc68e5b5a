"""Event builders shared by the rulebook tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.events import Author, Event

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
CLOCK = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Paris


def make_event(text: str = "", **fields: Any) -> Event:
    author = fields.pop("author", None) or Author(id=fields.pop("author_id", "u1"), name="Alice")
    base: dict[str, Any] = {
        "source": "discord",
        "kind": "comment",
        "external_id": fields.pop("external_id", "e1"),
        "text": text,
        "author": author,
        "created_at": CLOCK,
    }
    base.update(fields)
    return Event(**base)
