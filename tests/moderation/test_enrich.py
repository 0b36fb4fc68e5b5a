"""The applier's side: a `moderate` effect opens its case once and learns its number and points;
crossing a threshold adds an escalation effect, the same one on every retry."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.events import Action, Effect, Event
from bot.moderation.casebook import Enriched, active_points, enrich_moderation, moderation_target
from bot.moderation.config import ModerationConfig
from bot.store.modcases import ModCaseRepo
from bot.store.unit import Store
from tests.moderation.conftest import MEMBER, NOW, SCOPE, event


def _enrich(
    store: Store,
    ev: Event,
    action: Action,
    *,
    key: str | None = None,
    at: datetime = NOW,
    config: ModerationConfig | None = None,
) -> Enriched:
    with store.unit() as unit:
        return enrich_moderation(
            unit,
            ev,
            action,
            at,
            key=key or f"{ev.id}:moderate:{action.type}",
            reason=f"Vigie: rule {action.rule}",
            config=config,
            lang="en",
        )


WARN = Action(type="warn", rule="insults", params={"message": "Merci de rester courtois."})


def test_warn_opens_a_numbered_case_with_points(store: Store) -> None:
    done = _enrich(store, event("m1"), WARN)
    assert done.case == 1 and done.created
    assert done.action.params["message"] == "Merci de rester courtois."
    assert (done.action.params["case"], done.action.params["points"], done.action.params["total_points"]) == (
        1,
        1,
        1,
    )
    assert done.escalations == ()
    with store.unit() as unit:
        row = ModCaseRepo(unit).get(SCOPE, 1)
        assert row is not None
        assert (row.action, row.moderator, row.rule, row.member_id) == ("warn", "vigie", "insults", MEMBER)
        assert row.reason == "Vigie: rule insults"
        assert row.event_id == event("m1").id
        assert row.expires_at == NOW + timedelta(days=30)


def test_a_retried_effect_reuses_its_case(store: Store) -> None:
    first = _enrich(store, event("m1"), WARN)
    again = _enrich(store, event("m1"), WARN, at=NOW + timedelta(minutes=5))
    assert again.case == first.case and not again.created
    assert again.action == first.action
    with store.unit() as unit:
        assert active_points(unit, SCOPE, MEMBER, NOW) == 1


def test_hide_and_delete_are_cases_without_points(store: Store) -> None:
    hide = _enrich(store, event("m1"), Action(type="hide", rule="insults"))
    warn = _enrich(store, event("m1"), WARN)
    assert (hide.case, warn.case) == (1, 2)
    assert "points" not in hide.action.params
    assert warn.action.params["total_points"] == 1


def test_a_rule_timeout_records_its_length(store: Store) -> None:
    done = _enrich(store, event("m1"), Action(type="timeout", rule="flood", params={"seconds": "PT10M"}))
    assert done.action.params["seconds"] == 600
    assert done.action.params["duration"] == "10m"
    with store.unit() as unit:
        row = ModCaseRepo(unit).get(SCOPE, 1)
        assert row is not None and row.duration_s == 600 and row.points == 0


def test_the_third_point_times_the_member_out_for_an_hour(store: Store) -> None:
    _enrich(store, event("m1"), WARN)
    _enrich(store, event("m2"), WARN)
    third = _enrich(store, event("m3"), WARN)
    assert third.action.params["total_points"] == 3
    assert len(third.escalations) == 1
    escalation = third.escalations[0]
    assert escalation.kind == "moderate"
    action = Action.model_validate(escalation.params["action"])
    assert action.type == "timeout"
    assert action.params["seconds"] == 3600
    assert action.params["case"] == 4
    assert escalation.params["reason"] == "Vigie: 3 warning points (threshold 3)"
    target = moderation_target(escalation.params)
    assert target is not None and target.author.id == MEMBER and target.metadata["guild_id"] == "111"
    with store.unit() as unit:
        row = ModCaseRepo(unit).get(SCOPE, 4)
        assert row is not None
        assert (row.action, row.moderator, row.duration_s, row.points) == ("timeout", "vigie", 3600, 0)
        assert row.effect_key == escalation.key
        assert row.caused_by == ModCaseRepo(unit).get(SCOPE, 3).id  # type: ignore[union-attr]


def test_a_retry_returns_the_same_escalation(store: Store) -> None:
    for name in ("m1", "m2"):
        _enrich(store, event(name), WARN)
    first = _enrich(store, event("m3"), WARN)
    again = _enrich(store, event("m3"), WARN)
    assert again.escalations == first.escalations
    with store.unit() as unit:
        assert len(ModCaseRepo(unit).history(SCOPE, MEMBER)) == 4


def test_applying_the_escalation_opens_nothing_more(store: Store) -> None:
    for name in ("m1", "m2"):
        _enrich(store, event(name), WARN)
    escalation: Effect = _enrich(store, event("m3"), WARN).escalations[0]
    target = Event.model_validate(escalation.params["event"])
    action = Action.model_validate(escalation.params["action"])
    applied = _enrich(store, target, action, key=escalation.key)
    assert applied.case == 4 and not applied.created
    assert applied.escalations == ()
    assert applied.action.params["seconds"] == 3600


def test_only_the_crossing_escalates(store: Store) -> None:
    for index in range(3):
        _enrich(store, event(f"m{index}"), WARN)
    fourth = _enrich(store, event("m3"), WARN)
    assert fourth.escalations == ()
    fifth = _enrich(store, event("m4"), WARN)
    assert [Action.model_validate(e.params["action"]).params["seconds"] for e in fifth.escalations] == [86400]


def test_expired_points_do_not_escalate(store: Store) -> None:
    _enrich(store, event("m1"), WARN, at=NOW - timedelta(days=40))
    _enrich(store, event("m2"), WARN, at=NOW - timedelta(days=35))
    third = _enrich(store, event("m3"), WARN)
    assert third.action.params["total_points"] == 1
    assert third.escalations == ()


def test_exempt_members_are_never_escalated(store: Store) -> None:
    for index in range(3):
        done = _enrich(store, event(f"m{index}", roles=("moderator",)), WARN)
    assert done.action.params["total_points"] == 3
    assert done.escalations == ()


def test_explicit_points_and_configured_weights(store: Store) -> None:
    heavy = Action(type="warn", rule="slurs", params={"message": "x", "points": 3})
    done = _enrich(store, event("m1"), heavy)
    assert done.action.params["points"] == 3
    assert len(done.escalations) == 1
    config = ModerationConfig(points={"warn": 0})
    light = _enrich(store, event("m2", author="501"), WARN, config=config)
    assert light.action.params["points"] == 0 and light.escalations == ()


def test_a_kick_threshold_needs_opting_in(store: Store) -> None:
    config = ModerationConfig(allowed_escalations=["timeout", "kick"])
    heavy = Action(type="warn", rule="slurs", params={"message": "x", "points": 8})
    done = _enrich(store, event("m1"), heavy, config=config)
    assert [Action.model_validate(e.params["action"]).type for e in done.escalations] == ["kick"]
    fallback = _enrich(store, event("m2", author="501"), heavy)
    action = Action.model_validate(fallback.escalations[0].params["action"])
    assert (action.type, action.params["seconds"]) == ("timeout", 86400)


def test_rulebook_effects_carry_no_target(store: Store) -> None:
    assert moderation_target({"action": WARN.model_dump(mode="json"), "reason": "r"}) is None
