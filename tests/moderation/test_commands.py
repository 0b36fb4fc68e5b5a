"""Every moderation verb, with the roles that may and may not run it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.events import Action, Effect, JsonValue
from bot.moderation.casebook import (
    MODERATION_VERBS,
    active_points,
    dispatch_moderation,
    enrich_moderation,
    moderation_target,
)
from bot.moderation.config import ModerationConfig
from bot.ports import Card, CommandResult, StaffCommand
from bot.store.modcases import ModCaseRepo
from bot.store.unit import Store
from bot.workspace import Workspace
from tests.moderation.conftest import (
    ADMIN,
    AGENT,
    APPROVER,
    LEAD,
    MEMBER,
    MODERATOR,
    NOW,
    SCOPE,
    command,
    make_workspace,
)


def run(store: Store, workspace: Workspace, cmd: StaffCommand, at: datetime = NOW) -> CommandResult:
    return dispatch_moderation(store, workspace, cmd, at)


def effects_of(result: CommandResult) -> list[Effect]:
    raw = result.data["effects"]
    assert isinstance(raw, list)
    return [Effect.model_validate(item) for item in raw]


def warn(store: Store, workspace: Workspace, actor: str = MODERATOR, **args: JsonValue) -> CommandResult:
    merged: dict[str, JsonValue] = {"member": MEMBER, "reason": "spam", "points": 1}
    merged.update(args)
    return run(store, workspace, command("warn", actor, **merged))


def test_the_verbs_on_offer() -> None:
    expected = {"warn", "timeout", "mod_case", "history", "appeal"}
    expected |= {"mod_revoke", "mod_appeal", "mod_note", "mod_edit"}
    assert expected == MODERATION_VERBS


# -- warn and timeout ---------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [MODERATOR, LEAD, ADMIN])
def test_moderators_leads_and_admins_may_warn(store: Store, workspace: Workspace, actor: str) -> None:
    result = warn(store, workspace, actor)
    assert result.ok, result.message
    assert result.message == "Case #1: <@500> warned (1 pt, 1 active)."


@pytest.mark.parametrize("actor", [AGENT, APPROVER])
def test_other_staff_may_not_warn(store: Store, workspace: Workspace, actor: str) -> None:
    result = warn(store, workspace, actor)
    assert not result.ok and result.data["error"] == "missing_role"
    assert "admin/lead/moderator" in result.message
    with store.unit() as unit:
        assert ModCaseRepo(unit).history(SCOPE, MEMBER) == []


def test_strangers_may_not_warn(store: Store, workspace: Workspace) -> None:
    result = warn(store, workspace, "12345")
    assert not result.ok and result.data["error"] == "unknown_actor"


def test_nobody_warns_themselves(store: Store, workspace: Workspace) -> None:
    result = warn(store, workspace, member=f"<@{MODERATOR}>")
    assert not result.ok and result.data["error"] == "self_sanction"


def test_a_warning_describes_the_effect_to_apply(store: Store, workspace: Workspace) -> None:
    result = warn(store, workspace, member=f"<@!{MEMBER}>")
    (effect,) = effects_of(result)
    assert effect.kind == "moderate" and effect.subject.startswith("modcase:")
    action = Action.model_validate(effect.params["action"])
    assert action.type == "warn"
    assert action.params == {"case": 1, "points": 1, "total_points": 1, "lang": "en", "message": "spam"}
    assert effect.params["reason"] == "Vigie, by Léa: spam"
    target = moderation_target(effect.params)
    assert target is not None
    assert (target.source, target.author.id, target.channel) == ("discord", MEMBER, "333")
    assert result.data["subject"] == effect.subject
    assert target.metadata["guild_id"] == "111"
    with store.unit() as unit:
        row = ModCaseRepo(unit).get(SCOPE, 1)
        assert row is not None and row.effect_key == effect.key and row.moderator == "lea"
        # The applier enriching this effect finds the same case and opens no other.
        enriched = enrich_moderation(unit, target, action, NOW, key=effect.key)
        assert (enriched.case, enriched.created, enriched.escalations) == (1, False, ())
        assert len(ModCaseRepo(unit).history(SCOPE, MEMBER)) == 1


def test_the_third_warning_escalates(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    warn(store, workspace)
    result = warn(store, workspace)
    assert result.data["escalations"] == [4]
    warned, timed = effects_of(result)
    assert Action.model_validate(warned.params["action"]).type == "warn"
    action = Action.model_validate(timed.params["action"])
    assert (action.type, action.params["seconds"], action.params["case"]) == ("timeout", 3600, 4)
    assert result.message.splitlines()[1] == "Threshold of 3 points reached: timeout (case #4)."


def test_points_argument(store: Store, workspace: Workspace) -> None:
    assert warn(store, workspace, points=0).data["points"] == 0
    assert warn(store, workspace, points="4").data["total_points"] == 4
    refused = warn(store, workspace, points=101)
    assert not refused.ok and refused.data["error"] == "bad_arg"


def test_a_warning_without_reason_says_so(store: Store, workspace: Workspace) -> None:
    result = run(store, workspace, command("warn", member=MEMBER))
    assert result.ok
    with store.unit() as unit:
        row = ModCaseRepo(unit).get(SCOPE, 1)
        assert row is not None and row.reason == "No reason given."


def test_timeout_by_a_moderator(store: Store, workspace: Workspace) -> None:
    result = run(
        store, workspace, command("timeout", member=MEMBER, seconds=600, duration="10m", reason="flood")
    )
    assert result.ok and result.message == "Case #1: <@500> timed out for 10m."
    (effect,) = effects_of(result)
    action = Action.model_validate(effect.params["action"])
    assert (action.type, action.params["seconds"], action.params["duration"]) == ("timeout", 600, "10m")
    assert "points" not in action.params
    by_duration = run(store, workspace, command("timeout", member=MEMBER, duration="2h"))
    assert by_duration.ok and by_duration.data["case"] == 2


@pytest.mark.parametrize(
    ("args", "error"),
    [({}, "missing_arg"), ({"duration": "29d"}, "bad_arg"), ({"duration": "soon"}, "missing_arg")],
)
def test_bad_timeouts_are_refused(
    store: Store, workspace: Workspace, args: dict[str, JsonValue], error: str
) -> None:
    result = run(store, workspace, command("timeout", MODERATOR, **{"member": MEMBER, **args}))
    assert not result.ok and result.data["error"] == error


def test_agents_may_not_time_out(store: Store, workspace: Workspace) -> None:
    result = run(store, workspace, command("timeout", AGENT, member=MEMBER, seconds=60))
    assert not result.ok and result.data["error"] == "missing_role"


def test_a_timeout_can_weigh_points(store: Store) -> None:
    workspace = make_workspace()
    config = ModerationConfig(points={"warn": 1, "timeout": 2})
    warn(store, workspace)
    result = dispatch_moderation(
        store, workspace, command("timeout", member=MEMBER, seconds=60), NOW, config=config
    )
    assert result.data["total_points"] == 3 and result.data["escalations"] == [3]


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [MODERATOR, LEAD, ADMIN, AGENT, APPROVER])
def test_any_staff_may_read_a_case(store: Store, workspace: Workspace, actor: str) -> None:
    warn(store, workspace)
    result = run(store, workspace, command("mod_case", actor, number=1))
    assert result.ok
    assert result.message.splitlines()[0] == f"#1 warning · <@{MEMBER}> · active · 1 pt · 2026-11-20 · by lea"
    assert "Reason: spam" in result.message
    case = result.data["case"]
    assert isinstance(case, dict) and case["status"] == "active" and case["appeals"] == []


def test_members_may_not_read_cases(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    result = run(store, workspace, command("mod_case", MEMBER, number=1))
    assert not result.ok and result.data["error"] == "unknown_actor"
    history = run(store, workspace, command("history", MEMBER, member=MEMBER))
    assert not history.ok and history.data["error"] == "unknown_actor"


def test_unknown_and_bad_case_numbers(store: Store, workspace: Workspace) -> None:
    assert run(store, workspace, command("mod_case", number=9)).data["error"] == "unknown_case"
    assert run(store, workspace, command("mod_case", number="x")).data["error"] == "bad_arg"
    assert run(store, workspace, command("mod_case")).data["error"] == "missing_arg"


def test_cases_are_per_server(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    other = run(store, workspace, command("mod_case", number=1, guild_id="999"))
    assert other.data["error"] == "unknown_case"


def test_history_lists_cases_and_active_points(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    run(store, workspace, command("timeout", member=MEMBER, seconds=60))
    warn(store, workspace, points=2, member="777")
    result = run(store, workspace, command("history", AGENT, member=f"<@{MEMBER}>"))
    assert result.ok
    lines = result.message.splitlines()
    assert lines[0] == "<@500>: 2 case(s), 1 active point(s)."
    assert lines[1].startswith("#2 timeout") and lines[2].startswith("#1 warning")
    assert result.data["active_points"] == 1
    later = run(store, workspace, command("history", member=MEMBER), at=NOW + timedelta(days=31))
    assert later.data["active_points"] == 0
    assert "expired" in later.message


def test_history_of_a_clean_member(store: Store, workspace: Workspace) -> None:
    result = run(store, workspace, command("history", member="42"))
    assert result.ok and result.message == "<@42> has no moderation case."


# -- appeals ------------------------------------------------------------------------------------


def appeal(store: Store, workspace: Workspace, actor: str = MEMBER, **args: JsonValue) -> CommandResult:
    merged: dict[str, JsonValue] = {"text": "I was quoting someone else."}
    merged.update(args)
    return run(store, workspace, command("appeal", actor, **merged))


def test_a_member_appeals_their_latest_sanction(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    warn(store, workspace)
    result = appeal(store, workspace)
    assert result.ok
    assert result.message == ("Your appeal of case #2 is recorded as case #3 and was sent to the moderators.")
    assert (result.data["case"], result.data["appeal_of"], result.data["post_to"]) == (3, 2, "moderation")
    card = Card.model_validate(result.data["card"])
    assert card.title == "Appeal #3: <@500> contests case #2 (warning)"
    assert card.text == "I was quoting someone else."
    assert ("Reason", "spam") in card.fields and ("Points", "1 / 2") in card.fields
    with store.unit() as unit:
        repo = ModCaseRepo(unit)
        sanction, filed = repo.get(SCOPE, 2), repo.get(SCOPE, 3)
        assert sanction is not None and sanction.status == "appealed"
        assert filed is not None and (filed.action, filed.appeal_of, filed.moderator) == (
            "appeal",
            2,
            "member",
        )
        assert active_points(unit, SCOPE, MEMBER, NOW) == 2  # the warning stands until decided


def test_a_member_appeals_a_named_case(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    warn(store, workspace)
    result = appeal(store, workspace, case_number=1)
    assert result.ok and result.data["appeal_of"] == 1


def test_appeal_refusals(store: Store, workspace: Workspace) -> None:
    assert appeal(store, workspace).data["error"] == "nothing_to_appeal"
    warn(store, workspace)
    assert appeal(store, workspace, "777", case_number=1).data["error"] == "not_your_case"
    assert appeal(store, workspace, MODERATOR, case_number=1).data["error"] == "not_your_case"
    assert appeal(store, workspace, case_number=5).data["error"] == "unknown_case"
    assert appeal(store, workspace, text="").data["error"] == "missing_arg"
    assert appeal(store, workspace).ok
    again = appeal(store, workspace, case_number=1)
    assert again.data["error"] == "not_appealable"
    assert again.message == "Case #1 (warning, appealed) cannot be contested."
    assert appeal(store, workspace, case_number=2).data["error"] == "not_appealable"  # an appeal itself


def test_overturning_an_appeal_removes_the_points(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    appeal(store, workspace)
    result = run(store, workspace, command("mod_appeal", LEAD, number=2, decision="overturn", note="context"))
    assert result.ok and result.message == "Appeal of case #1: sanction overturned."
    with store.unit() as unit:
        repo = ModCaseRepo(unit)
        assert [repo.get(SCOPE, n).status for n in (1, 2)] == ["overturned", "overturned"]  # type: ignore[union-attr]
        assert active_points(unit, SCOPE, MEMBER, NOW) == 0


def test_upholding_an_appeal_keeps_the_points(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    appeal(store, workspace)
    result = run(store, workspace, command("mod_appeal", number=1, decision="uphold"))
    assert result.ok and result.data["status"] == "upheld"
    with store.unit() as unit:
        assert active_points(unit, SCOPE, MEMBER, NOW) == 1
    assert appeal(store, workspace, case_number=1).data["error"] == "not_appealable"


def test_appeal_decisions_need_a_moderator_and_a_pending_appeal(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    assert (
        run(store, workspace, command("mod_appeal", number=1, decision="uphold")).data["error"]
        == "not_an_appeal"
    )
    appeal(store, workspace)
    refused = run(store, workspace, command("mod_appeal", AGENT, number=1, decision="uphold"))
    assert refused.data["error"] == "missing_role"
    bad = run(store, workspace, command("mod_appeal", number=1, decision="maybe"))
    assert bad.data["error"] == "bad_arg"


# -- revoke and notes ---------------------------------------------------------------------------


def test_revoking_a_warning_removes_its_points(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    warn(store, workspace)
    result = run(store, workspace, command("mod_revoke", ADMIN, number=1, reason="wrong member"))
    assert result.ok and result.message == "Case #1 revoked."
    with store.unit() as unit:
        assert active_points(unit, SCOPE, MEMBER, NOW) == 1
        row = ModCaseRepo(unit).get(SCOPE, 1)
        assert row is not None and (row.updated_by, row.note) == ("root", "wrong member")
    again = run(store, workspace, command("mod_revoke", number=1))
    assert again.data["error"] == "wrong_status"


def test_revoking_grants_a_pending_appeal(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    appeal(store, workspace)
    assert run(store, workspace, command("mod_revoke", number=1)).ok
    with store.unit() as unit:
        filed = ModCaseRepo(unit).get(SCOPE, 2)
        assert filed is not None and filed.status == "overturned"


def test_revoking_a_timeout_reminds_to_lift_it(store: Store, workspace: Workspace) -> None:
    run(store, workspace, command("timeout", member=MEMBER, seconds=60))
    result = run(store, workspace, command("mod_revoke", number=1))
    assert result.message == "Case #1 revoked; lift the timeout on the platform if it still runs."


def test_agents_may_not_revoke(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    assert run(store, workspace, command("mod_revoke", AGENT, number=1)).data["error"] == "missing_role"


def test_notes(store: Store, workspace: Workspace) -> None:
    result = run(store, workspace, command("mod_note", member=MEMBER, text="Known troll, watch."))
    assert result.ok and result.message == "Case #1: note added for <@500>."
    assert (
        run(store, workspace, command("mod_note", AGENT, member=MEMBER, text="x")).data["error"]
        == "missing_role"
    )
    assert appeal(store, workspace).data["error"] == "nothing_to_appeal"  # a note is no sanction


# -- doors, scopes and languages ----------------------------------------------------------------


def test_cli_needs_a_scope(store: Store, workspace: Workspace) -> None:
    bare = StaffCommand(door="cli", actor="lea", verb="history", args={"member": MEMBER})
    assert run(store, workspace, bare).data["error"] == "no_scope"
    warn(store, workspace)
    scoped = StaffCommand(door="cli", actor="lea", verb="history", args={"member": MEMBER, "scope": SCOPE})
    result = run(store, workspace, scoped)
    assert result.ok and result.message.startswith("500: 1 case(s)")
    by_parts = StaffCommand(
        door="cli", actor="lea", verb="mod_case", args={"number": 1, "source": "discord", "guild_id": "111"}
    )
    assert run(store, workspace, by_parts).ok


def test_french_answers(store: Store, workspace: Workspace) -> None:
    result = run(store, workspace, command("warn", lang="fr", member=MEMBER, reason="spam"))
    assert result.message == "Dossier n°1 : <@500> averti (1 pt, 1 actifs)."
    (effect,) = effects_of(result)
    assert effect.params["reason"] == "Vigie, par Léa : spam"
    assert Action.model_validate(effect.params["action"]).params["lang"] == "fr"
    shown = run(store, workspace, command("mod_case", lang="fr", number=1))
    assert shown.message.splitlines()[0] == "n°1 avertissement · <@500> · actif · 1 pt · 2026-11-20 · par lea"
    refused = run(store, workspace, command("warn", AGENT, lang="fr", member=MEMBER))
    assert refused.message == "samir ne peut pas sanctionner des membres : rôle requis admin/lead/moderator."
    mine = run(store, workspace, command("appeal", MEMBER, lang="fr", text="erreur"))
    assert mine.message.startswith("Votre contestation du dossier n°1")


def test_the_workspace_language_is_the_default(store: Store) -> None:
    workspace = make_workspace("fr")
    cmd = StaffCommand(
        door="discord", actor=MODERATOR, verb="history", args={"member": "42", "guild_id": "111"}
    )
    assert run(store, workspace, cmd).message == "<@42> n'a aucun dossier de modération."


def test_the_appeal_card_is_in_the_moderators_language(store: Store) -> None:
    workspace = make_workspace("fr")
    warn(store, workspace)
    result = appeal(store, workspace, lang="en")
    assert result.message.startswith("Your appeal")
    card = Card.model_validate(result.data["card"])
    assert card.title == "Contestation n°2 : <@500> conteste le dossier n°1 (avertissement)"


def test_unknown_verbs_are_refused(store: Store, workspace: Workspace) -> None:
    result = run(store, workspace, command("mod_purge"))
    assert not result.ok and result.data["error"] == "unknown_verb"


def test_editing_a_reason_keeps_the_first_one(store: Store, workspace: Workspace) -> None:
    warn(store, workspace)
    result = run(store, workspace, command("mod_edit", LEAD, number=1, reason="spam links in #general"))
    assert result.ok and result.message == "Case #1: reason updated."
    with store.unit() as unit:
        row = ModCaseRepo(unit).get(SCOPE, 1)
        assert row is not None and (row.reason, row.note, row.updated_by) == (
            "spam links in #general",
            "spam",
            "camille",
        )
    refused = run(store, workspace, command("mod_edit", AGENT, number=1, reason="x"))
    assert refused.data["error"] == "missing_role"
    assert run(store, workspace, command("mod_edit", number=1)).data["error"] == "missing_arg"
