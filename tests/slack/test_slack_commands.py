"""`/vigie` text → verb and args."""

from __future__ import annotations

import pytest

from bot.platforms.slack.commands import parse


@pytest.mark.parametrize(
    ("text", "verb", "args"),
    [
        ("case", "case", {}),
        ("case C-42", "case", {"case_id": "C-42"}),
        ("take", "take", {}),
        ("take C-42", "take", {"case_id": "C-42"}),
        ("resolve C-42", "resolve", {"case_id": "C-42"}),
        ("report", "report", {"period": "7d"}),
        ("report 30d", "report", {"period": "30d"}),
        ("rules reload", "rules_reload", {}),
        ("rules test  t'es un  c0nnard ", "rules_test", {"text": "t'es un  c0nnard"}),
        ("crisis ack", "ack", {}),
        ("crisis ack I-3", "ack", {"incident_id": "I-3"}),
        ("crisis resolve I-3", "crisis_resolve", {"incident_id": "I-3"}),
        ("oncall", "oncall", {}),
    ],
)
def test_subcommands(text: str, verb: str, args: dict[str, str]) -> None:
    parsed = parse(text)
    assert (parsed.verb, parsed.args, parsed.usage, parsed.unknown) == (verb, args, None, None)


def test_assign_reads_the_escaped_mention() -> None:
    parsed = parse("assign <@U0123ABCD|lea> C-42")
    assert (parsed.verb, parsed.slack_user, parsed.args) == ("assign", "U0123ABCD", {"case_id": "C-42"})


@pytest.mark.parametrize(
    "text",
    ["assign", "assign lea", "report soon", "rules", "rules test", "crisis", "crisis panic", "case a b"],
)
def test_bad_forms_give_a_usage_line(text: str) -> None:
    assert parse(text).usage is not None


@pytest.mark.parametrize("text", ["", "help", "aide"])
def test_help(text: str) -> None:
    parsed = parse(text)
    assert parsed.verb is None and parsed.usage is None and parsed.unknown is None


def test_unknown_word() -> None:
    assert parse("dance now").unknown == "dance"
