"""Append-only audit trail: who did what, when, from which door. Details refer to ids, never to
message text or personal identifiers, so an erasure leaves the trail intact and clean."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.events import utcnow
from bot.store.models import AuditEntry


def record(
    session: Session,
    *,
    actor: str,
    door: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=at or utcnow(), actor=actor, door=door, action=action, subject=subject, detail=detail or {}
        )
    )
