"""The default packs as a whole: inline tests, the brief's examples, labels, and the labelled set."""

from __future__ import annotations

import json
from collections import Counter

from bot.events import Author, Event
from bot.rulebook import Rulebook, run_inline_tests
from tests.rulebook.rulebook_helpers import REPO, make_event

LABELS = ("toxic", "spam", "pii", "after-sales", "crisis", "negative", "positive")


def test_inline_tests_pass(default_rulebook: Rulebook) -> None:
    ran, failures = run_inline_tests(default_rulebook)
    assert ran > 150
    assert failures == []


def test_every_default_rule_has_match_and_no_match_tests(default_rulebook: Rulebook) -> None:
    for rule in default_rulebook.rules:
        assert rule.tests and rule.tests.match and rule.tests.no_match, rule.id


def test_packs_use_the_agreed_labels(default_rulebook: Rulebook) -> None:
    used = {str(a.params["label"]) for r in default_rulebook.rules for a in r.actions if a.type == "label"}
    assert used == set(LABELS)


def test_the_briefs_examples(default_rulebook: Rulebook) -> None:
    assert "toxic" in default_rulebook.evaluate(make_event("c0nn4rd")).labels
    assert "toxic" in default_rulebook.evaluate(make_event("espèce de соnnard")).labels
    new = Author(id="n", created_at=make_event().created_at.replace(day=6))
    spam = default_rulebook.evaluate(make_event("promo www.cheap-watches.xyz", author=new))
    assert "spam" in spam.labels and any(a.type == "hold" for a in spam.actions)
    parcel = default_rulebook.evaluate(make_event("Colis arrivé cassé", kind="review", rating=1))
    assert parcel.route is not None and parcel.route.team == "after-sales"
    crisis = default_rulebook.evaluate(make_event("Mes enfants ont été intoxiqués par vos yaourts"))
    assert crisis.crisis and "crisis" in crisis.labels
    reply = default_rulebook.check_reply("Rappelez Mme Martin au 06 12 34 56 78", event=make_event("aide"))
    assert [a.type for a in reply.actions] == ["block"]
    assert "données personnelles" in str(reply.actions[0].params["reason"])


def test_labelled_set_quality(default_rulebook: Rulebook) -> None:
    """Guards the measured precision/recall (benchmarks/rules.py --quality prints them)."""
    rows = [
        json.loads(line) for line in (REPO / "tests/data/rulebook_labelled.jsonl").read_text().splitlines()
    ]
    assert len(rows) >= 200
    langs = Counter(r["event"].get("lang_truth") or r["lang"] for r in rows)
    assert langs["fr"] >= 80 and langs["en"] >= 80
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row in rows:
        event = Event.model_validate({k: v for k, v in row["event"].items() if k != "lang_truth"})
        got = set(default_rulebook.evaluate(event).labels)
        want = set(row["labels"])
        for label in LABELS:
            tp[label] += label in got and label in want
            fp[label] += label in got and label not in want
            fn[label] += label in want and label not in got
    for label in ("toxic", "spam", "pii", "after-sales", "crisis"):
        precision = tp[label] / max(1, tp[label] + fp[label])
        recall = tp[label] / max(1, tp[label] + fn[label])
        assert precision >= 0.9 and recall >= 0.85, (label, precision, recall)
