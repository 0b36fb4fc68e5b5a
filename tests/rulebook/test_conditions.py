from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.events import Author
from bot.rulebook import MemoryWindowCounter, Rulebook
from tests.rulebook.rulebook_helpers import CLOCK, make_event


def fired(rulebook: Rulebook, text: str = "hello", **kw: object) -> bool:
    evaluate_kw = {k: kw.pop(k) for k in ("strikes", "author_is_staff", "now", "counter") if k in kw}
    return "r" in rulebook.evaluate(make_event(text, **kw), **evaluate_kw).rules  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("when", "yes", "no"),
    [
        ("{source: [discord]}", {}, {"source": "instagram"}),
        ("{kind: review}", {"kind": "review"}, {"kind": "dm"}),
        ("{channel: [general]}", {"channel": "general"}, {"channel": "off-topic"}),
        ("{brand: [rivalcorp]}", {"brand": "rivalcorp"}, {}),
        ("{rating: {lte: 2}}", {"rating": 1}, {"rating": 4}),
        ("{rating: [1, 5]}", {"rating": 5}, {"rating": 3}),
        ("{rating: {lte: 2}}", {"rating": 2}, {}),  # no rating: never matches
        ("{lang: [fr]}", {"text": "le colis n'est pas arrivé"}, {"text": "the parcel has not arrived"}),
        ("{lang: [en]}", {"lang": "en"}, {"lang": "fr"}),
        ("{sentiment: {lt: -0.3}}", {"text": "service nul, très déçu"}, {"text": "merci, génial"}),
        ("{sentiment: {gt: 0.3}}", {"text": "great product, love it"}, {"text": "awful, broken"}),
    ],
)
def test_event_conditions(
    one_rule: Callable[..., Rulebook], when: str, yes: dict[str, object], no: dict[str, object]
) -> None:
    rulebook = one_rule(when)
    assert fired(rulebook, **{"text": "hello", **yes})
    assert not fired(rulebook, **{"text": "hello", **no})


def test_author_role_and_staff_flag(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{author: {role: [staff, moderator]}}")
    assert fired(rulebook, author=Author(id="m", roles=("moderator",)))
    assert fired(rulebook, author_is_staff=True)
    assert not fired(rulebook, author=Author(id="x", roles=("member",)))


def test_account_age_unknown_is_never_new(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{author: {account_age: {lt: 7d}}}")
    assert fired(rulebook, author=Author(id="a", created_at=CLOCK - timedelta(days=2)))
    assert not fired(rulebook, author=Author(id="a", created_at=CLOCK - timedelta(days=30)))
    assert not fired(rulebook, author=Author(id="a"))


def test_followers_and_strikes(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{author: {followers: {gte: 10000}, strikes: {gte: 2}}}")
    big = Author(id="b", followers=20000)
    assert fired(rulebook, author=big, strikes=2)
    assert not fired(rulebook, author=big, strikes=1)
    assert not fired(rulebook, author=Author(id="s", followers=10), strikes=5)


def test_time_window_wraps_midnight_in_its_zone(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule('{time: {between: ["22:00", "06:00"], tz: Europe/Paris}}')
    night = datetime(2026, 1, 7, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    assert fired(rulebook, now=night)
    assert not fired(rulebook, now=CLOCK)


def test_time_days(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{time: {days: [sat, sun], tz: UTC}}")
    assert fired(rulebook, now=datetime(2026, 1, 10, 12, tzinfo=UTC))  # Saturday
    assert not fired(rulebook, now=CLOCK)


def test_business_hours_from_the_file(write_rules: Callable[..., object]) -> None:
    from bot.rulebook import load_rulebook

    folder = write_rules(
        a="""
        business_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00", tz: Europe/Paris}
        rules:
          - id: r
            when: {business_hours: false}
            then: [{label: after-hours}]
    """
    )
    rulebook = load_rulebook(folder)  # type: ignore[arg-type]
    assert not fired(rulebook, now=CLOCK)  # Wednesday 11:00 Paris
    assert fired(rulebook, now=datetime(2026, 1, 7, 19, tzinfo=UTC))  # 20:00 Paris
    assert fired(rulebook, now=datetime(2026, 1, 10, 10, tzinfo=UTC))  # Saturday


def test_any_all_not(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{any: [{kind: review}, {all: [{kind: dm}, {not: {source: [slack]}}]}]}")
    assert fired(rulebook, kind="review")
    assert fired(rulebook, kind="dm")
    assert not fired(rulebook, kind="dm", source="slack")
    assert not fired(rulebook, kind="comment")


def test_unless_vetoes(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{text: {words: [idiot]}}", extra="    unless: {author: {role: [staff]}}\n")
    assert fired(rulebook, "idiot")
    assert not fired(rulebook, "idiot", author_is_staff=True)


def test_rate_counts_only_events_that_met_the_rest(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{text: {detect: link}, rate: {count: 3, within: 60s, per: author}}")
    counter = MemoryWindowCounter()
    results = []
    for second, text in enumerate(["a http://x.fr", "plain", "plain", "b http://y.fr", "c http://z.fr"]):
        now = CLOCK + timedelta(seconds=second)
        results.append(fired(rulebook, text, now=now, counter=counter))
    assert results == [False, False, False, False, True]


def test_rate_window_slides_and_is_per_author(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{rate: {count: 2, within: 10s, per: author}}")
    counter = MemoryWindowCounter()
    assert not fired(rulebook, now=CLOCK, counter=counter)
    assert not fired(rulebook, now=CLOCK + timedelta(seconds=1), counter=counter, author_id="other")
    assert fired(rulebook, now=CLOCK + timedelta(seconds=2), counter=counter)
    assert not fired(rulebook, now=CLOCK + timedelta(seconds=30), counter=counter)


def test_signals_are_lazy_unless_asked(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{kind: comment}")
    verdict = rulebook.evaluate(make_event("Produit génial, je recommande"))
    assert verdict.lang is None and verdict.sentiment is None
    verdict = rulebook.evaluate(make_event("Produit génial, je recommande"), signals=True)
    assert verdict.lang == "fr"
    assert verdict.sentiment is not None and verdict.sentiment > 0.3
