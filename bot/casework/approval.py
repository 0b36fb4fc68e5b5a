"""The four-eyes rule for replies. The ethics pack runs on every draft text: a live `block` action
stops it with its reason; `require_approval` actions name the roles that may approve (else the
workspace's `approval.roles`). An approver must hold one of those roles and must not be the
draft's author (Hootsuite's rule; Chatwoot has no approval step, see chatwoot#6890)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.events import Event, Verdict
from bot.workspace import Staff, Workspace

CheckReply = Callable[[str, Event | None, str | None], Verdict]
"""`Rulebook.check_reply(text, event=..., lang=...)` adapted to positional arguments."""


@dataclass(frozen=True)
class EthicsOutcome:
    blocked_by: str | None
    reason: str | None
    approver_roles: tuple[str, ...]
    labels: tuple[str, ...]
    rules: tuple[str, ...]

    def as_record(self) -> dict[str, object]:
        """What is stored with the draft: rule ids and labels only, never the draft text."""
        return {
            "blocked_by": self.blocked_by,
            "reason": self.reason,
            "labels": list(self.labels),
            "rules": list(self.rules),
            "approver_roles": list(self.approver_roles),
        }


def assess(verdict: Verdict, workspace: Workspace) -> EthicsOutcome:
    blocked_by = None
    reason = None
    for action in verdict.live_actions("block"):
        blocked_by = action.rule
        raw = action.params.get("reason")
        reason = str(raw) if raw else action.rule
        break
    roles: list[str] = []
    for action in verdict.live_actions("require_approval"):
        raw_role = action.params.get("role")
        wanted = raw_role if isinstance(raw_role, list) else [raw_role]
        roles += [str(role) for role in wanted if role and str(role) not in roles]
    if not roles:
        roles = list(workspace.approval.roles)
    return EthicsOutcome(blocked_by, reason, tuple(roles), verdict.labels, verdict.rules)


def approval_refusal(
    staff_id: str, person: Staff, author: str, roles: tuple[str, ...] | list[str]
) -> str | None:
    """Why this person may not approve (a message key), or None when they may."""
    if staff_id == author:
        return "self_approval"
    if not set(person.roles) & set(roles):
        return "missing_role"
    return None
