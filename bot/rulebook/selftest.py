"""Running the inline `tests:` of every rule: each case is an event the rule alone must fire on
(`match`) or leave alone (`no_match`), with a fresh window counter, so cases never interfere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.events import Author, Event
from bot.rulebook.context import Context
from bot.rulebook.evaluate import CompiledRule, Rulebook, reply_event
from bot.rulebook.loader import RuleError
from bot.rulebook.schema import TestCase
from bot.rulebook.windows import MemoryWindowCounter

# A Wednesday mid-morning in Paris: inside default business hours, so tests are deterministic.
TEST_CLOCK = datetime(2026, 1, 7, 9, 30, tzinfo=UTC)


def _event(rule: CompiledRule, case: TestCase, number: int) -> tuple[Event, datetime]:
    clock = datetime.fromisoformat(case.at) if case.at else TEST_CLOCK
    if clock.tzinfo is None:
        clock = clock.replace(tzinfo=UTC)
    created = (
        clock - timedelta(seconds=case.author.account_age) if case.author.account_age is not None else None
    )
    author = Author(
        id=case.author.id,
        name=case.author.name,
        roles=tuple(case.author.roles),
        followers=case.author.followers,
        created_at=created,
    )
    event = Event(
        source=case.source,
        kind=case.kind or rule.default_kind,
        external_id=f"test-{number}",
        text=case.text,
        author=author,
        rating=case.rating,
        lang=case.lang,
        channel=case.channel,
        brand=case.brand,
        created_at=clock,
    )
    if rule.direction == "outgoing":
        event = reply_event(case.text, event=event, lang=case.lang)
    return event, clock


def run_case(rulebook: Rulebook, rule: CompiledRule, case: TestCase | str, number: int = 0) -> bool:
    """Whether `rule` fires on the case's event (on its last sending, for `times: N`)."""
    spec = TestCase(text=case) if isinstance(case, str) else case
    event, clock = _event(rule, spec, number)
    engine = rulebook.incoming_engine if rule.direction == "incoming" else rulebook.outgoing_engine
    counter = MemoryWindowCounter()
    fired = False
    for repeat in range(spec.times):
        ctx = Context(
            event,
            engine,
            now=clock + timedelta(milliseconds=repeat),
            counter=counter,
            strikes=spec.strikes,
            staff=spec.staff or rule.direction == "outgoing",
        )
        fired = rulebook.fires(rule, ctx) is not None
    return fired


def run_inline_tests(rulebook: Rulebook) -> tuple[int, list[RuleError]]:
    """How many cases ran, and one error per failing case (file:line of the rule)."""
    ran = 0
    failures: list[RuleError] = []
    for rule in rulebook.rules:
        tests = rule.tests
        if tests is None:
            continue
        for expected, cases in ((True, tests.match), (False, tests.no_match)):
            for case in cases:
                for item in case if isinstance(case, list) else [case]:
                    ran += 1
                    if run_case(rulebook, rule, item, ran) != expected:
                        text = item if isinstance(item, str) else item.text
                        verb = "should fire on" if expected else "should not fire on"
                        failures.append(
                            RuleError(rule.file, rule.line, 1, rule.id, f"test failed: {verb} {text!r}")
                        )
    return ran, failures
