"""What each role may do with cases and drafts. Approving is governed by the draft's own approver
roles (the ethics pack's `require_approval`, else vigie.yaml `approval.roles`), never by this table,
and never by the draft's author."""

from __future__ import annotations

from typing import Literal

from bot.casework.context import Actor, Refused
from bot.store.models import CaseRow

Capability = Literal["view", "work", "assign"]

CAPABILITIES: dict[Capability, frozenset[str]] = {
    # see cases and drafts: everyone on staff
    "view": frozenset({"agent", "approver", "lead", "moderator", "admin"}),
    # take, resolve, reopen, snooze, label, set priority, escalate, open by hand, propose drafts
    "work": frozenset({"agent", "lead", "admin"}),
    # assign or reassign a case to someone else
    "assign": frozenset({"lead", "admin"}),
}

# Roles that act on any team's cases; others only on the teams they belong to.
ALL_TEAMS = frozenset({"lead", "admin"})

WHAT = {
    "view": ("view cases", "consulter les dossiers"),
    "work": ("work on cases", "traiter les dossiers"),
    "assign": ("assign cases", "attribuer les dossiers"),
}


def require(actor: Actor, capability: Capability, lang: str) -> None:
    allowed = CAPABILITIES[capability]
    if not set(actor.person.roles) & allowed:
        english, french = WHAT[capability]
        raise Refused(
            "missing_role",
            who=actor.staff_id,
            what=french if lang == "fr" else english,
            roles="/".join(sorted(allowed)),
        )


def require_team(actor: Actor, case: CaseRow) -> None:
    if set(actor.person.roles) & ALL_TEAMS or case.team in actor.person.teams:
        return
    raise Refused("not_in_team", who=actor.staff_id, team=case.team)
