from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from bot.moderation.config import ModerationConfig, Threshold
from bot.moderation.policy import escalation, is_exempt, points_for, scope_of, seconds_of, timeout_seconds
from tests.moderation.conftest import event


def test_defaults_match_the_documented_policy() -> None:
    config = ModerationConfig()
    assert config.points == {"warn": 1}
    assert config.expire_after == timedelta(days=30)
    assert [(t.points, t.action, t.duration) for t in config.thresholds] == [
        (3, "timeout", timedelta(hours=1)),
        (5, "timeout", timedelta(days=1)),
        (8, "kick", None),
    ]
    assert config.allowed_escalations == ["timeout"]


def test_yaml_shapes_are_accepted() -> None:
    config = ModerationConfig.model_validate(
        {
            "points": {"warn": 2, "timeout": 1},
            "expire_after": "14d",
            "thresholds": [
                {"points": 4, "action": "timeout", "duration": "2h"},
                {"points": 6, "action": "ban"},
            ],
            "allowed_escalations": ["timeout", "ban"],
        }
    )
    assert config.expire_after == timedelta(days=14)
    assert config.thresholds[0].duration == timedelta(hours=2)


@pytest.mark.parametrize(
    "data",
    [
        {"unknown": 1},
        {"thresholds": [{"points": 3, "action": "timeout"}]},  # a timeout needs a duration
        {"thresholds": [{"points": 3, "action": "kick", "duration": "1h"}]},
        {"thresholds": [{"points": 3, "action": "timeout", "duration": "29d"}]},
        {"thresholds": [{"points": 3, "action": "kick"}, {"points": 3, "action": "ban"}]},
        {"points": {"label": 1}},
        {"expire_after": "0s"},
    ],
)
def test_bad_configs_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ModerationConfig.model_validate(data)


def test_a_crossing_fires_once_and_only_the_strongest() -> None:
    config = ModerationConfig()
    assert escalation(1, 2, config) is None
    fired = escalation(2, 3, config)
    assert fired is not None and fired.duration == timedelta(hours=1)
    assert escalation(3, 4, config) is None  # already past 3: no second timeout
    jump = escalation(2, 6, config)
    assert jump is not None and jump.duration == timedelta(days=1)


def test_a_forbidden_kick_falls_back_to_the_strongest_allowed_threshold() -> None:
    fallback = escalation(7, 8, ModerationConfig())
    assert fallback is not None and (fallback.action, fallback.duration) == ("timeout", timedelta(days=1))
    kick = escalation(7, 8, ModerationConfig(allowed_escalations=["timeout", "kick"]))
    assert kick is not None and kick.action == "kick"
    assert escalation(7, 8, ModerationConfig(allowed_escalations=[])) is None


def test_thresholds_are_sorted_whatever_the_yaml_order() -> None:
    config = ModerationConfig(
        thresholds=[Threshold(points=5, action="kick"), Threshold(points=2, action="timeout", duration="1h")],
        allowed_escalations=["timeout", "kick"],
    )
    fired = escalation(0, 6, config)
    assert fired is not None and fired.action == "kick"


def test_points_for_actions() -> None:
    config = ModerationConfig(points={"warn": 2, "timeout": 1})
    assert points_for("warn", None, config) == 2
    assert points_for("warn", 5, config) == 5
    assert points_for("warn", "3", config) == 3
    assert points_for("warn", True, config) == 2  # a flag is not a count
    assert points_for("hide", None, config) == 0
    assert points_for("timeout", None, config) == 1


def test_durations_from_every_params_shape() -> None:
    assert seconds_of(600) == 600
    assert seconds_of("10m") == 600
    assert seconds_of("PT1H") == 3600
    assert seconds_of("soon") is None
    assert seconds_of(0) is None
    assert timeout_seconds({"seconds": "P30D"}) == 28 * 86400  # Discord's ceiling


def test_scope_is_per_server_else_per_source() -> None:
    assert scope_of(event()) == "discord:111"
    assert scope_of(event(guild=None)) == "discord"


def test_exempt_roles() -> None:
    assert is_exempt(("staff", "discord:1"), ModerationConfig())
    assert not is_exempt(("discord:1",), ModerationConfig())
