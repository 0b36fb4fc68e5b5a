"""Who gets a new case: round-robin among the team's agents who are on duty now and below the
team's cap of open cases, the one whose last assignment is oldest first (never-assigned first,
then by staff id), so the rotation needs no stored pointer and survives restarts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from bot.casework.business_hours import Calendar
from bot.workspace import Workspace

_NEVER = datetime.min.replace(tzinfo=UTC)


def members(workspace: Workspace, team: str) -> list[str]:
    """Staff who take cases of a team: in the team, with the agent role."""
    return sorted(
        sid for sid, person in workspace.staff.items() if team in person.teams and "agent" in person.roles
    )


def on_duty(workspace: Workspace, team: str, staff_id: str, at: datetime) -> bool:
    """On duty: not marked off duty in vigie.yaml, and inside the team's working hours."""
    person = workspace.staff.get(staff_id)
    config = workspace.teams.get(team)
    if person is None or config is None or not person.on_duty:
        return False
    return Calendar.for_team(config).is_open(at)


def pick(
    workspace: Workspace,
    team: str,
    at: datetime,
    open_counts: Mapping[str, int],
    last_assigned: Mapping[str, datetime],
) -> str | None:
    """The next assignee, or None when nobody on duty has room (the case waits unassigned)."""
    config = workspace.teams.get(team)
    if config is None:
        return None
    cap = config.max_open_per_agent
    eligible = [
        sid
        for sid in members(workspace, team)
        if on_duty(workspace, team, sid, at) and open_counts.get(sid, 0) < cap
    ]
    if not eligible:
        return None
    return min(eligible, key=lambda sid: (last_assigned.get(sid, _NEVER), sid))


def next_opening(workspace: Workspace, team: str, at: datetime) -> datetime | None:
    """When someone may next be on duty: the team's next opening after `at` (None if never)."""
    config = workspace.teams.get(team)
    if config is None:
        return None
    calendar = Calendar.for_team(config)
    for lo, _hi in calendar.openings(at):
        if lo > at:
            return lo
    return None
