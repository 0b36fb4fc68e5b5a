"""Escalation policy files: the shipped default loads; mistakes are refused with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crisis.policy import (
    IfUnacknowledgedStep,
    PolicyError,
    load_crisis_config,
    parse_crisis_config,
)

RULES = Path(__file__).resolve().parents[2] / "rules"


def test_the_default_file_loads_and_picks_a_policy_by_severity() -> None:
    config = load_crisis_config(RULES)
    assert config.policy_for("brand:self", "critical").id == "critical"  # type: ignore[union-attr]
    assert config.policy_for("brand:self", "minor").id == "default"  # type: ignore[union-attr]
    assert config.detection.spike.threshold > 0


def parse_error(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_crisis_config(text, "esc.yaml")
    return str(caught.value)


def test_unknown_keys_are_refused_with_their_line() -> None:
    text = "policies:\n  - id: p\n    steps:\n      - notify: {channels: [crisis], pager: [x]}\n"
    assert parse_error(text).startswith("esc.yaml:4: policies.0.steps.0.notify.pager: Extra inputs")
    assert "esc.yaml:1: detection.treshold" in parse_error("detection: {treshold: 2}\npolicies: []\n")


def test_bad_steps_name_their_line() -> None:
    text = (
        "policies:\n"
        "  - id: p\n"
        "    steps:\n"
        "      - notify: {roles: [lead]}\n"
        "      - wait: soon\n"
        "      - page: everyone\n"
        "      - time_range: {from: '09:00', to: '18:00', timezone: Mars/Olympus}\n"
    )
    lines = parse_error(text).splitlines()
    assert lines[0].startswith("esc.yaml:5: policies.0.steps.1.wait: Value error, not a duration")
    assert lines[1].startswith("esc.yaml:6: policies.0.steps.2: a step is a mapping with one key")
    assert lines[2].startswith("esc.yaml:7: policies.0.steps.3.time_range.timezone")


def test_loops_are_bounded_and_need_a_wait() -> None:
    assert "less than or equal to 5" in parse_error(
        "policies:\n  - id: p\n    steps:\n      - notify: {roles: [lead]}\n"
        "      - wait: 1m\n      - repeat: 9\n"
    )
    assert "needs a wait step" in parse_error(
        "policies:\n  - id: p\n    steps:\n      - notify: {roles: [lead]}\n      - repeat: 2\n"
    )
    assert "at least one of channels" in parse_error("policies:\n  - id: p\n    steps:\n      - notify: {}\n")


def test_bare_if_unacknowledged_and_yaml_errors() -> None:
    config = parse_crisis_config(
        "policies:\n  - id: p\n    steps:\n      - if_unacknowledged\n      - notify: {users: [camille]}\n"
    )
    assert isinstance(config.policies[0].steps[0], IfUnacknowledgedStep)
    assert parse_error("policies: [\n").startswith("esc.yaml:2: invalid YAML")
    assert "duplicate policy ids: p" in parse_error(
        "policies:\n  - {id: p, steps: [{notify: {roles: [lead]}}]}\n"
        "  - {id: p, steps: [{notify: {roles: [lead]}}]}\n"
    )


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"escalation.yaml: cannot read"):
        load_crisis_config(tmp_path)
