"""The workspace file `vigie.yaml`: teams, staff and their roles and platform identities, team
channels per platform, which traffic is mirrored where, SLA policies, approval and per-source
webhook settings. Validated strictly (unknown keys refused) with errors naming file, line and key."""

from __future__ import annotations

from collections.abc import Collection
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from bot.casework.survey import SurveyConfig
from bot.durations import parse_duration
from bot.moderation.config import ModerationConfig

Role = Literal["agent", "approver", "lead", "moderator", "admin"]
Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelTargets(Strict):
    """Where one named team channel lives on each platform."""

    console: str | None = None
    slack: str | None = Field(default=None, description="Slack channel id, C…")
    discord: str | None = Field(default=None, description="Discord channel id (snowflake)")


class SlaPolicy(Strict):
    first_response: Duration | None = None
    next_response: Duration | None = None
    resolution: Duration | None = None
    warn_before: Duration = timedelta(minutes=30)
    business_hours: bool = True


def _parse_hours(value: Any) -> Any:
    """`"09:00-18:00"` → (09:00, 18:00); a list of such ranges for split days."""
    if isinstance(value, str):
        value = [value]
    ranges = []
    for item in value or []:
        if isinstance(item, str):
            start, sep, end = item.partition("-")
            if not sep:
                raise ValueError(f"working hours must look like 09:00-18:00, got {item!r}")
            ranges.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
        else:
            ranges.append(item)
    return ranges


HourRanges = Annotated[list[tuple[time, time]], BeforeValidator(_parse_hours)]


class WorkingHours(Strict):
    """Per weekday opening ranges in the team's time zone; a day absent is closed."""

    mon: HourRanges = Field(default_factory=list)
    tue: HourRanges = Field(default_factory=list)
    wed: HourRanges = Field(default_factory=list)
    thu: HourRanges = Field(default_factory=list)
    fri: HourRanges = Field(default_factory=list)
    sat: HourRanges = Field(default_factory=list)
    sun: HourRanges = Field(default_factory=list)

    def for_weekday(self, weekday: int) -> list[tuple[time, time]]:
        ranges: list[tuple[time, time]] = getattr(self, DAYS[weekday])
        return ranges


def _default_hours() -> WorkingHours:
    office = [(time(9), time(18))]
    return WorkingHours(mon=office, tue=office, wed=office, thu=office, fri=office)


class Team(Strict):
    name: str | None = None
    channel: str = Field(description="Named team channel (see `channels`) where its cases are mirrored.")
    lead: str | None = Field(
        default=None, description="Staff id of the team lead: SLA breaches escalate there."
    )
    timezone: str = "Europe/Paris"
    working_hours: WorkingHours = Field(default_factory=_default_hours)
    max_open_per_agent: int = Field(default=15, ge=1)
    sla: dict[Priority, SlaPolicy] = Field(default_factory=dict)


class Staff(Strict):
    name: str
    roles: list[Role] = Field(default_factory=lambda: list[Role](["agent"]))
    teams: list[str] = Field(default_factory=list)
    email: str | None = None
    slack: str | None = Field(default=None, description="Slack user id, U…")
    discord: str | None = Field(default=None, description="Discord user id")
    lang: Literal["fr", "en"] | None = None
    on_duty: bool = True


class MirrorRule(Strict):
    """Which traffic goes to which team channel; the first matching rule wins."""

    channel: str
    source: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list)
    label: list[str] = Field(default_factory=list)


class SourceConfig(Strict):
    secret: SecretStr | None = Field(
        default=None, description="Overrides VIGIE_WEBHOOK__SECRET for this source."
    )
    reply_url: str | None = Field(default=None, description="Where approved replies are POSTed, signed.")


class Approval(Strict):
    roles: list[Role] = Field(default_factory=lambda: list[Role](["approver", "lead"]))
    expire_after: Duration = timedelta(hours=24)


class Brand(Strict):
    name: str = "Our brand"
    aliases: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)


class Workspace(Strict):
    language: Literal["fr", "en"] = Field(
        default="en", description="Language of what Vigie writes to people."
    )
    brand: Brand = Field(default_factory=Brand)
    channels: dict[str, ChannelTargets] = Field(default_factory=dict)
    teams: dict[str, Team] = Field(default_factory=dict)
    staff: dict[str, Staff] = Field(default_factory=dict)
    mirror: list[MirrorRule] = Field(default_factory=list)
    default_channel: str = "inbox"
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    approval: Approval = Field(default_factory=Approval)
    conversation_window: Duration = Field(
        default=timedelta(hours=48), description="Events of one author within this window join one case."
    )
    moderation: ModerationConfig = Field(
        default_factory=ModerationConfig, description="Warning points, expiry and escalation thresholds."
    )
    survey: SurveyConfig = Field(
        default_factory=SurveyConfig,
        description="The 1–5 satisfaction question sent when a case is resolved.",
    )
    # Feature sections validated by their own models (bot/reports/…), which import this module:
    # kept as mappings here and checked in `_sections`, so a bad value still stops start-up.
    retention: dict[str, Any] = Field(default_factory=dict, description="How long each kind of data is kept.")
    digests: dict[str, Any] = Field(default_factory=dict, description="Daily and weekly digests.")

    @model_validator(mode="after")
    def _sections(self) -> Workspace:
        from bot.reports.digest import Digests
        from bot.reports.retention import Retention

        problems = []
        for name, model, value in (
            ("retention", Retention, self.retention),
            ("digests", Digests, self.digests),
        ):
            try:
                model.model_validate(value)
            except ValidationError as error:
                for item in error.errors():
                    where = ".".join(str(p) for p in (name, *item["loc"]))
                    problems.append(f"{where}: {item['msg']}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _references(self) -> Workspace:
        problems = []
        known_channels = set(self.channels) | {self.default_channel}
        for team_id, team in self.teams.items():
            if team.channel not in known_channels:
                problems.append(f"teams.{team_id}.channel: unknown channel {team.channel!r}")
            if team.lead and team.lead not in self.staff:
                problems.append(f"teams.{team_id}.lead: unknown staff {team.lead!r}")
        for staff_id, person in self.staff.items():
            for team_id in person.teams:
                if team_id not in self.teams:
                    problems.append(f"staff.{staff_id}.teams: unknown team {team_id!r}")
        for index, rule in enumerate(self.mirror):
            if rule.channel not in known_channels:
                problems.append(f"mirror[{index}].channel: unknown channel {rule.channel!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def staff_by_identity(self, door: str, identity: str) -> tuple[str, Staff] | None:
        """Map a platform identity to a staff member; the CLI and console use the staff id itself."""
        for staff_id, person in self.staff.items():
            if door in ("cli", "console", "http") and identity == staff_id:
                return staff_id, person
            if door == "slack" and identity in (person.slack, person.email):
                return staff_id, person
            if door == "discord" and identity == person.discord:
                return staff_id, person
        return None

    def channel_targets(
        self, channel: str, platforms: Collection[str] | None = None
    ) -> list[tuple[str, str]]:
        """(platform, platform channel id) pairs where a named team channel lives, among `platforms`
        (the team-chat platforms a process runs; all when None). A name vigie.yaml does not list is
        a console channel of that name."""
        config = self.channels.get(channel)
        if config is None:
            return [("console", channel)] if platforms is None or "console" in platforms else []
        found = []
        for platform in ("console", "slack", "discord"):
            where = getattr(config, platform)
            if where and (platforms is None or platform in platforms):
                found.append((platform, str(where)))
        return found

    def channel_for(self, source: str, kind: str, labels: tuple[str, ...]) -> str:
        for rule in self.mirror:
            if rule.source and source not in rule.source:
                continue
            if rule.kind and kind not in rule.kind:
                continue
            if rule.label and not set(rule.label) & set(labels):
                continue
            return rule.channel
        return self.default_channel


class WorkspaceError(Exception):
    """vigie.yaml is unreadable or invalid; the message names the file, line and key."""


def _line_of(node: yaml.Node | None, path: tuple[int | str, ...]) -> int | None:
    """Find the line of a key path in a composed YAML tree, for error messages."""
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


def load_workspace(path: Path | None) -> Workspace:
    """Load vigie.yaml; `None` or a missing default file gives the built-in single-team workspace."""
    if path is None:
        return default_workspace()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WorkspaceError(f"{path}: cannot read: {error.strerror}") from error
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise WorkspaceError(f"{path}: invalid YAML: {error}") from error
    if not isinstance(data, dict):
        raise WorkspaceError(f"{path}:1: the workspace file must be a mapping")
    try:
        return Workspace.model_validate(data)
    except ValidationError as error:
        lines = []
        for item in error.errors():
            loc = tuple(item["loc"])
            line = _line_of(tree, loc)
            where = f"{path}:{line}" if line else str(path)
            key = ".".join(str(p) for p in loc) or "(top)"
            lines.append(f"{where}: {key}: {item['msg']}")
        raise WorkspaceError("\n".join(lines)) from error


def default_workspace() -> Workspace:
    """What `vigie demo` and a bare `vigie run` use: one community team, one after-sales team,
    console channels, and four staff members so approvals have a second person."""
    return Workspace.model_validate(yaml.safe_load(DEFAULT_WORKSPACE_YAML))


DEFAULT_WORKSPACE_YAML = """\
# vigie.yaml — the workspace: who works here, in which channels, under which SLAs.
# Validate with `vigie config check`. Durations: 30s, 10m, 4h, 3d, 1w.
language: en            # language of the messages Vigie writes to people: en or fr

brand:
  name: Maison Lune
  aliases: [maisonlune, "@maisonlune"]
  competitors: [Soleil & Co, Brume]

# Named team channels, and where each lives on each platform. The console platform needs no setup.
channels:
  inbox:       {console: inbox}          # slack: C0123ABCD   discord: "112233445566778899"
  after-sales: {console: after-sales}
  moderation:  {console: moderation}
  crisis:      {console: crisis}

default_channel: inbox
# Which traffic is mirrored where: the first matching entry wins, else default_channel.
mirror:
  - {label: [crisis], channel: crisis}
  - {label: [toxic, spam], channel: moderation}
  - {label: [after-sales], channel: after-sales}

teams:
  community:
    channel: inbox
    lead: camille
    timezone: Europe/Paris
    working_hours: {mon: "09:00-18:00", tue: "09:00-18:00", wed: "09:00-18:00",
                    thu: "09:00-18:00", fri: "09:00-18:00"}
    sla:
      normal: {first_response: 4h, resolution: 3d}
      high:   {first_response: 1h, resolution: 1d}
  after-sales:
    channel: after-sales
    lead: camille
    timezone: Europe/Paris
    max_open_per_agent: 10
    sla:
      normal: {first_response: 8h, next_response: 8h, resolution: 5d, warn_before: 1h}
      high:   {first_response: 2h, next_response: 4h, resolution: 2d, warn_before: 30m}
      urgent: {first_response: 30m, resolution: 1d, warn_before: 10m, business_hours: false}

# Staff: roles are agent, approver, lead, moderator, admin. Platform identities map people to staff.
staff:
  camille: {name: Camille, roles: [lead, approver, admin], teams: [community, after-sales]}
  samir:   {name: Samir, roles: [agent], teams: [after-sales]}
  lea:     {name: Léa, roles: [agent, moderator], teams: [community]}
  tom:     {name: Tom, roles: [agent, approver], teams: [after-sales, community]}

approval:
  roles: [approver, lead]
  expire_after: 24h

# Per-source webhook settings: secret overrides VIGIE_WEBHOOK__SECRET; reply_url receives approved replies.
sources: {}

# Satisfaction survey: when a case is resolved, the customer is asked once (per case, ever) for a
# 1–5 rating in their language, where they wrote from; answers count in the satisfaction KPI.
# survey:
#   enabled: true
#   answer_within: 7d    # a rating received later is an ordinary message
#   question:
#     fr: "Êtes-vous satisfait·e de notre aide ? Répondez de 1 (pas du tout) à 5 (tout à fait)."
#     en: "How satisfied are you with our help? Reply from 1 (not at all) to 5 (very satisfied)."
"""
