"""The `moderation:` section of vigie.yaml: how many points each sanction weighs, how long points
last, and what crossing a threshold triggers. Validated strictly (unknown keys refused).

    moderation:
      points: {warn: 1}          # points per action; a /warn can say its own
      expire_after: 30d          # a warning's points stop counting after this
      thresholds:                # reaching N active points triggers the action, once per crossing
        - {points: 3, action: timeout, duration: 1h}
        - {points: 5, action: timeout, duration: 1d}
        - {points: 8, action: kick}
      allowed_escalations: [timeout]   # kick and ban need an explicit opt-in, as on Discord
      exempt_roles: [staff, moderator] # never escalated automatically
      automod_points: 0          # points an AutoMod action adds
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bot.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
PointedAction = Literal["delete", "hide", "warn", "timeout", "kick", "ban"]
Escalation = Literal["timeout", "kick", "ban"]

# Discord refuses communication timeouts longer than this.
MAX_TIMEOUT = timedelta(days=28)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(Strict):
    points: int = Field(ge=1, description="Active points at which this fires.")
    action: Escalation
    duration: Duration | None = Field(default=None, description="Timeout length; timeouts only.")

    @model_validator(mode="after")
    def _duration(self) -> Threshold:
        if self.action == "timeout":
            if self.duration is None or self.duration <= timedelta(0):
                raise ValueError("a timeout threshold needs a positive duration (e.g. 1h)")
            if self.duration > MAX_TIMEOUT:
                raise ValueError("a timeout lasts at most 28d")
        elif self.duration is not None:
            raise ValueError(f"{self.action} takes no duration")
        return self


def _default_thresholds() -> list[Threshold]:
    return [
        Threshold(points=3, action="timeout", duration=timedelta(hours=1)),
        Threshold(points=5, action="timeout", duration=timedelta(days=1)),
        Threshold(points=8, action="kick"),
    ]


class ModerationConfig(Strict):
    points: dict[PointedAction, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: dict[PointedAction, int]({"warn": 1}),
        description="Points each action adds to the member's record; absent actions add none.",
    )
    expire_after: Duration = Field(default=timedelta(days=30), description="How long points count.")
    thresholds: list[Threshold] = Field(default_factory=_default_thresholds)
    allowed_escalations: list[Escalation] = Field(
        default_factory=lambda: list[Escalation](["timeout"]),
        description="Threshold actions Vigie may carry out; a threshold naming another falls back "
        "to the strongest allowed one below it.",
    )
    exempt_roles: list[str] = Field(
        default_factory=lambda: ["staff", "moderator"],
        description="Author roles (as on events) never escalated automatically.",
    )
    automod_points: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _thresholds(self) -> ModerationConfig:
        if self.expire_after <= timedelta(0):
            raise ValueError("expire_after must be positive")
        seen = [t.points for t in self.thresholds]
        if len(seen) != len(set(seen)):
            raise ValueError("two thresholds at the same number of points")
        return self

    def sorted_thresholds(self) -> list[Threshold]:
        return sorted(self.thresholds, key=lambda t: t.points)
