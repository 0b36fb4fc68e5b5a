"""What a handler sees: the event, its verdict, the case it belongs to, where that case's cards
already are, and the workspace. Built by the worker from the store; handlers only read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.events import Event, Verdict
from bot.ports import MessageRef
from bot.workspace import Workspace


@dataclass(frozen=True)
class CaseView:
    id: int
    team: str
    status: str
    priority: str
    assignee: str | None
    created: bool  # opened by this very event


@dataclass(frozen=True)
class Situation:
    event: Event
    verdict: Verdict
    workspace: Workspace
    platforms: frozenset[str]  # team-chat platforms configured in this deployment
    case: CaseView | None = None
    # (platform, channel) → the case's first card there, so later events go to its thread
    case_threads: Mapping[tuple[str, str], MessageRef] = field(default_factory=dict)
