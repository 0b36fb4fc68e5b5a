"""How long each kind of data is kept. Proposed as `Workspace.retention` (vigie.yaml):

    retention:
      events: 365d            # events with their verdicts, cards and posting records
      cases: 730d             # resolved cases, counted from resolution, with their drafts
      drafts: 365d            # drafts in a final state (sent, rejected, expired, failed)
      effects: 90d            # applied or failed effect records (claims, rendered cards, results)
      console_messages: 90d   # the console platform's channels

`null` keeps a kind forever. The audit log is not listed: it is append-only and holds no personal
data, so it is kept for as long as the database lives."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.workspace import Duration, Workspace

RetentionKind = Literal["console_messages", "effects", "drafts", "events", "cases"]
RETENTION_KINDS: tuple[RetentionKind, ...] = ("console_messages", "effects", "drafts", "events", "cases")
"""In the order they are enforced: what refers to a row goes before the row."""


class Retention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Duration | None = timedelta(days=365)
    cases: Duration | None = timedelta(days=730)
    drafts: Duration | None = timedelta(days=365)
    effects: Duration | None = timedelta(days=90)
    console_messages: Duration | None = timedelta(days=90)

    def cutoffs(self, now: datetime) -> dict[RetentionKind, datetime]:
        """Rows older than these instants go; kinds kept forever are absent."""
        out: dict[RetentionKind, datetime] = {}
        for kind in RETENTION_KINDS:
            keep: timedelta | None = getattr(self, kind)
            if keep is not None:
                out[kind] = now - keep
        return out


def retention_of(workspace: Workspace) -> Retention:
    """The workspace's `retention` once the lead mounts it; the proposed defaults until then."""
    value: Any = getattr(workspace, "retention", None)
    return value if isinstance(value, Retention) else Retention.model_validate(value or {})
