"""Escalation policies and detection settings from YAML (rules/escalation.yaml).

A policy is an ordered list of steps, each a mapping with one key, after Grafana OnCall and PagerDuty:

    notify: {channels: [crisis], users: [camille], roles: [lead]}
    wait: 10m
    repeat: 3                         # back to the first step (or `{times: 3, from: 1}`), at most 5 times
    if_unacknowledged                 # go on only if nobody has acknowledged the incident
    if_count_in_window: {count: 10, within: 15m}   # go on only if the incident is still growing
    time_range: {from: "09:00", to: "18:00", days: [mon, fri], timezone: Europe/Paris, otherwise: stop}

Unknown keys are refused; errors name the file, line and key.
"""

from __future__ import annotations

import fnmatch
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.crisis.incidents import Severity
from bot.crisis.signals import DetectionConfig
from bot.crisis.spike import Duration

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_REPEATS = 5  # OnCall's cap: past five rounds, paging again is noise, not escalation


class PolicyError(Exception):
    """The escalation file is unreadable or invalid; the message names file, line and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Targets(_Strict):
    channels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _someone(self) -> Targets:
        if not (self.channels or self.users or self.roles):
            raise ValueError("notify needs at least one of channels, users, roles")
        return self


class RepeatSpec(_Strict):
    times: int = Field(ge=1, le=MAX_REPEATS)
    from_step: int = Field(default=0, ge=0, alias="from", description="Step index to go back to.")


class CountSpec(_Strict):
    count: int = Field(ge=1)
    within: Duration


class TimeRangeSpec(_Strict):
    start: time = Field(alias="from")
    end: time = Field(alias="to", description="Before `from` means the range crosses midnight.")
    days: tuple[Day, ...] = Field(default=DAYS, min_length=1)
    timezone: str = "UTC"
    otherwise: Literal["stop", "skip", "wait"] = Field(
        default="stop", description="Outside the range: stop, skip the next step, or wait for the range."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value


class NotifyStep(_Strict):
    notify: Targets


class WaitStep(_Strict):
    wait: Duration


class RepeatStep(_Strict):
    repeat: Annotated[RepeatSpec, BeforeValidator(lambda v: {"times": v} if isinstance(v, int) else v)]


class IfUnacknowledgedStep(_Strict):
    if_unacknowledged: None = None


class IfCountStep(_Strict):
    if_count_in_window: CountSpec


class TimeRangeStep(_Strict):
    time_range: TimeRangeSpec


STEP_KEYS = ("notify", "wait", "repeat", "if_unacknowledged", "if_count_in_window", "time_range")


def _step_key(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return next(key for key in STEP_KEYS if key in type(value).model_fields)
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in STEP_KEYS else None
    return None


def _bare_step(value: Any) -> Any:
    # `- if_unacknowledged` reads as a bare string in YAML; it is the step with no parameters.
    return {value: None} if value == "if_unacknowledged" else value


Step = Annotated[
    Annotated[NotifyStep, Tag("notify")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[RepeatStep, Tag("repeat")]
    | Annotated[IfUnacknowledgedStep, Tag("if_unacknowledged")]
    | Annotated[IfCountStep, Tag("if_count_in_window")]
    | Annotated[TimeRangeStep, Tag("time_range")],
    Discriminator(
        _step_key,
        custom_error_type="step",
        custom_error_message="a step is a mapping with one key: " + ", ".join(STEP_KEYS),
    ),
    BeforeValidator(_bare_step),
]


class Match(_Strict):
    severity: tuple[Severity, ...] | None = Field(default=None, description="Any severity when absent.")
    scopes: tuple[str, ...] | None = Field(default=None, description="Glob patterns: brand:*, brand:acme.")

    def accepts(self, scope: str, severity: Severity) -> bool:
        if self.severity is not None and severity not in self.severity:
            return False
        return self.scopes is None or any(fnmatch.fnmatchcase(scope, pattern) for pattern in self.scopes)


class Policy(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    match: Match = Match()
    steps: tuple[Step, ...] = Field(min_length=1)
    # The crisis room (a thread per incident where related events are mirrored); its options are
    # read by the wiring in bot/crisis_service.py, the detector itself does not use them.
    room: bool | dict[str, Any] | None = None

    @model_validator(mode="after")
    def _loops_wait(self) -> Policy:
        for index, step in enumerate(self.steps):
            if isinstance(step, RepeatStep):
                back = step.repeat.from_step
                if back >= index:
                    raise ValueError(f"step {index}: repeat must go back to an earlier step, not {back}")
                if not any(isinstance(s, WaitStep) for s in self.steps[back:index]):
                    # Without a wait the loop would page N times in the same second.
                    raise ValueError(f"step {index}: a repeated range needs a wait step")
        return self


class CrisisConfig(_Strict):
    version: Literal[1] = 1
    detection: DetectionConfig = DetectionConfig()
    policies: tuple[Policy, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CrisisConfig:
        ids = [policy.id for policy in self.policies]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"duplicate policy ids: {', '.join(duplicated)}")
        return self

    def policy_for(self, scope: str, severity: Severity) -> Policy | None:
        """The first policy whose `match` accepts the incident."""
        return next((p for p in self.policies if p.match.accepts(scope, severity)), None)

    def policy(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)


def load_crisis_config(path: Path) -> CrisisConfig:
    """Load rules/escalation.yaml, or `escalation.yaml` inside a rules directory."""
    if path.is_dir():
        path = path / "escalation.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read: {error.strerror}") from error
    return parse_crisis_config(text, str(path))


def parse_crisis_config(text: str, name: str = "<escalation>") -> CrisisConfig:
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise PolicyError(f"{where}: invalid YAML: {getattr(error, 'problem', None) or error}") from error
    if not isinstance(data, dict):
        raise PolicyError(f"{name}:1: the escalation file must be a mapping with `policies:`")
    try:
        return CrisisConfig.model_validate(data)
    except ValidationError as error:
        items = [(_clean(tuple(item["loc"])), item) for item in error.errors()]
        lines = []
        for loc, item in items:
            # A list whose items failed also reports itself "too short": the items say more.
            if item["type"] == "too_short" and any(
                other[: len(loc)] == loc and other != loc for other, _ in items
            ):
                continue
            key = ".".join(str(part) for part in loc) or "(top)"
            lines.append(f"{name}:{_line_of(tree, loc)}: {key}: {item['msg']}")
        raise PolicyError("\n".join(lines)) from error


def _clean(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop the tag pydantic inserts for a discriminated step (`steps.1.wait.wait` → `steps.1.wait`)."""
    out: list[int | str] = []
    for part in loc:
        if out and part == out[-1] and part in STEP_KEYS:
            continue
        out.append(part)
    return tuple(out)


def _line_of(node: yaml.Node | None, path: tuple[int | str, ...]) -> int:
    """The line of the deepest node on a key path that exists: an unknown or wrong key's own line."""
    if node is None:
        return 1
    for part in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1
