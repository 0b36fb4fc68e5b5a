"""AutoMod's own actions become numbered cases, once per gateway event."""

from __future__ import annotations

from bot.events import Event, JsonScalar
from bot.moderation.casebook import record_automod
from bot.moderation.config import ModerationConfig
from bot.store.modcases import ModCaseRepo
from bot.store.unit import Store
from tests.moderation.conftest import MEMBER, NOW, SCOPE, event


def automod(external_id: str, action: str = "block_message", **extra: str | int) -> Event:
    metadata: dict[str, JsonScalar] = {
        "automod": True,
        "automod_action": action,
        "automod_rule_id": "77",
        "automod_trigger": "keyword",
        "matched_keyword": "scam*",
    }
    metadata.update(extra)
    return event(external_id, metadata=metadata)


def test_an_automod_action_is_a_case(store: Store) -> None:
    with store.unit() as unit:
        recorded = record_automod(unit, automod("a1", "timeout", duration_seconds=300), NOW)
    assert recorded is not None and recorded.case == 1 and recorded.created
    with store.unit() as unit:
        row = ModCaseRepo(unit).get(SCOPE, 1)
        assert row is not None
        assert (row.action, row.moderator, row.rule, row.duration_s) == (
            "automod",
            "automod",
            "automod:77",
            300,
        )
        assert row.member_id == MEMBER
        assert row.reason == "AutoMod timeout · keyword · scam*"
        assert row.points == 0


def test_a_replayed_automod_event_opens_no_second_case(store: Store) -> None:
    with store.unit() as unit:
        first = record_automod(unit, automod("a1"), NOW)
    with store.unit() as unit:
        again = record_automod(unit, automod("a1"), NOW)
    assert first is not None and again is not None
    assert (again.case, again.created) == (first.case, False)


def test_ordinary_messages_are_not_automod_cases(store: Store) -> None:
    with store.unit() as unit:
        assert record_automod(unit, event("m1"), NOW) is None


def test_automod_blocks_can_weigh_points_and_escalate(store: Store) -> None:
    config = ModerationConfig(automod_points=1)
    outcomes = []
    for index in range(3):
        with store.unit() as unit:
            outcomes.append(record_automod(unit, automod(f"a{index}"), NOW, config=config))
        with store.unit() as unit:  # the alert that comes with each block weighs nothing
            record_automod(unit, automod(f"a{index}", "send_alert_message"), NOW, config=config)
    last = outcomes[-1]
    assert last is not None and len(last.escalations) == 1
    with store.unit() as unit:
        rows = ModCaseRepo(unit).history(SCOPE, MEMBER)
        assert sum(r.points for r in rows) == 3
        assert rows[0].action == "timeout" and rows[0].moderator == "vigie"
