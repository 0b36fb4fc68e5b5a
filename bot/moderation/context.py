"""What every moderation command shares: who is acting, in which community, in which language, and
how arguments from slash commands, buttons and the CLI are read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.moderation.config import ModerationConfig
from bot.moderation.policy import scope_for
from bot.moderation.texts import LANGS, say
from bot.ports import StaffCommand
from bot.store.unit import Unit
from bot.workspace import Staff, Workspace

# Who may do what; the roles are vigie.yaml's, never the platform's, so a Discord role named
# "moderator" grants nothing by itself.
SANCTION_ROLES = frozenset({"moderator", "lead", "admin"})
READ_ROLES = frozenset({"agent", "approver", "lead", "moderator", "admin"})
DECIDE_ROLES = SANCTION_ROLES

_MENTION = re.compile(r"^<@!?(\d+)>$")
TEXT_LIMIT = 4000


class Refused(Exception):
    """A moderation command refused: a message key from `texts.py` and its values."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def language(command: StaffCommand, workspace: Workspace) -> str:
    """The caller's language (Discord sends the client's locale), else the staff member's, else the
    workspace's."""
    asked = command.args.get("lang")
    if isinstance(asked, str) and asked in LANGS:
        return asked
    found = workspace.staff_by_identity(command.door, command.actor)
    if found is not None and found[1].lang:
        return found[1].lang
    return workspace.language


@dataclass(frozen=True)
class Context:
    unit: Unit
    workspace: Workspace
    config: ModerationConfig
    command: StaffCommand
    now: datetime
    lang: str

    @property
    def door(self) -> str:
        return self.command.door

    @property
    def staff(self) -> tuple[str, Staff] | None:
        return self.workspace.staff_by_identity(self.command.door, self.command.actor)

    def require(self, roles: frozenset[str], what: str) -> tuple[str, Staff]:
        found = self.staff
        if found is None:
            raise Refused("unknown_actor", actor=self.command.actor)
        staff_id, person = found
        if not set(person.roles) & roles:
            raise Refused(
                "missing_role", who=staff_id, what=say(what, self.lang), roles="/".join(sorted(roles))
            )
        return staff_id, person

    def where(self, args: Mapping[str, Any]) -> tuple[str, str, str | None]:
        """(scope, source, guild): an explicit `scope`, else `source` (the door itself for Discord and
        Slack) and `guild_id`, which every Discord interaction carries."""
        explicit = args.get("scope")
        if isinstance(explicit, str) and explicit.strip():
            scope = explicit.strip()
            named, _, in_guild = scope.partition(":")
            return scope, named, in_guild or None
        raw_source = args.get("source") or (self.door if self.door in ("discord", "slack") else None)
        if not isinstance(raw_source, str) or not raw_source.strip():
            raise Refused("no_scope")
        source = raw_source.strip()
        raw_guild = args.get("guild_id")
        guild = str(raw_guild).strip() if raw_guild not in (None, "") else None
        return scope_for(source, guild), source, guild


def member(args: Mapping[str, Any], name: str = "member") -> str:
    """A member id: `123`, or a Discord mention `<@123>` / `<@!123>`."""
    raw = args.get(name)
    if raw is None or str(raw).strip() == "":
        raise Refused("missing_arg", name=name)
    text = str(raw).strip()
    found = _MENTION.match(text)
    value = found.group(1) if found else text
    if len(value) > 200:
        raise Refused("bad_arg", name=name, problem="too long")
    return value


def number(args: Mapping[str, Any], name: str = "number", *, required: bool = True) -> int | None:
    """A case number: 12, "12", "#12"."""
    raw = args.get(name)
    if raw is None or str(raw).strip() == "":
        if required:
            raise Refused("missing_arg", name=name)
        return None
    text = str(raw).strip().lstrip("#")
    if not text.isdigit() or int(text) < 1:
        raise Refused("bad_arg", name=name, problem=f"{raw!r} is not a case number")
    return int(text)


def text(args: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    raw = args.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Refused("missing_arg", name=name)
        return None
    if not isinstance(raw, str | int | float):
        raise Refused("bad_arg", name=name, problem="expected text")
    return str(raw).strip()[:TEXT_LIMIT]


def points(args: Mapping[str, Any], default: int) -> int:
    raw = args.get("points")
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not str(raw).strip().isdigit() or int(str(raw).strip()) > 100:
        raise Refused("bad_arg", name="points", problem="a whole number from 0 to 100")
    return int(str(raw).strip())
