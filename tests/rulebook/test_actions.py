from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.events import Author
from bot.rulebook import Rulebook, load_rulebook
from tests.rulebook.rulebook_helpers import make_event


def test_every_incoming_action_and_templates(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule(
        "{text: {words: [idiot]}}",
        then=(
            '[hide, delete, hold, kick, ban, {label: toxic}, {warn: "{author}: pas de {match} ({rule})"},'
            " {hold: why}, {timeout: 10m}, {mirror: moderation},"
            " {route: {team: after-sales, priority: high, sla: 4h}}, {signal: {name: injury, weight: 2.5}},"
            " {signal: recall}]"
        ),
    )
    verdict = rulebook.evaluate(make_event("quel IDIOT", author=Author(id="u", name="Léa")))
    by_type = {a.type: a.params for a in verdict.actions}
    assert [a.type for a in verdict.actions][:5] == ["hide", "delete", "hold", "kick", "ban"]
    assert by_type["warn"] == {"message": "Léa: pas de idiot (r)"}
    assert by_type["timeout"] == {"seconds": 600.0}
    assert by_type["mirror"] == {"channel": "moderation"}
    assert verdict.labels == ("toxic",)
    assert verdict.route is not None
    assert (verdict.route.team, verdict.route.priority, verdict.route.sla) == ("after-sales", "high", "4h")
    assert verdict.crisis_score == 3.5 and verdict.crisis


def test_outgoing_actions(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(
        b="""
        applies_to: outgoing
        rules:
          - id: no-promise
            when: {text: {words: ["full refund"]}}
            then: [{require_approval: lead}, {block: "no promise: {match}"}]
    """
    )
    rulebook = load_rulebook(folder)
    verdict = rulebook.check_reply("We will give you a FULL refund", event=make_event("where is my money"))
    assert [(a.type, a.params) for a in verdict.actions] == [
        ("require_approval", {"role": "lead"}),
        ("block", {"reason": "no promise: full refund"}),
    ]
    assert rulebook.evaluate(make_event("full refund")).actions == ()  # outgoing rules only on replies


def test_first_route_wins_and_priority_orders(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(
        a="""
        rules:
          - id: low
            when: {kind: comment}
            then: [{route: sales}]
          - id: high
            priority: 10
            when: {kind: comment}
            then: [{route: {team: care, priority: urgent}}]
    """
    )
    verdict = load_rulebook(folder).evaluate(make_event("x"))
    assert verdict.rules == ("high", "low")
    assert verdict.route is not None and verdict.route.team == "care" and verdict.route.rule == "high"


def test_stop_and_dry_run(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(
        a="""
        rules:
          - id: trial
            priority: 3
            dry_run: true
            stop: true
            when: {kind: comment}
            then: [delete, {label: spam}, {route: nowhere}]
          - id: stopper
            priority: 2
            stop: true
            when: {kind: comment}
            then: [{label: a}]
          - id: never
            priority: 1
            when: {kind: comment}
            then: [{label: b}]
          - id: off
            enabled: false
            priority: 9
            when: {kind: comment}
            then: [delete]
    """
    )
    verdict = load_rulebook(folder).evaluate(make_event("x"))
    assert verdict.rules == ("trial", "stopper")
    assert verdict.hits[0].dry_run
    assert verdict.labels == ("a",)  # a dry run labels nothing
    assert verdict.route is None
    assert [a.type for a in verdict.live_actions()] == ["label"]
    assert [a.type for a in verdict.actions if a.dry_run] == ["delete", "label", "route"]


def test_explain_gives_original_and_normalised(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{text: {words: [connard], normalize: aggressive}}")
    verdict = rulebook.evaluate(make_event("Espèce de C0NN4RD !"), explain=True)
    assert verdict.hits[0].matched == ("C0NN4RD",)
    assert verdict.hits[0].normalized == ("connard",)
    assert rulebook.evaluate(make_event("Espèce de C0NN4RD !")).hits[0].matched == ()


def test_stats_count_evaluations_hits_actions(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{text: {words: [idiot]}}", then="[hide, {label: x}]")
    for i in range(80):  # timing samples every 16th event: the 16th, 32nd... say "idiot"
        rulebook.evaluate(make_event("idiot" if i % 4 == 3 else "hello", external_id=str(i)))
    counters = rulebook.drain_stats()["r"]
    assert (counters.evaluations, counters.hits, counters.actions) == (80, 20, 40)
    assert counters.sampled == 5 and counters.mean_us > 0
    assert rulebook.drain_stats() == {}
