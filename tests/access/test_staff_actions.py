"""Every staff action checks the actor's role from vigie.yaml, whichever door it came through:
console, CLI, Slack and Discord all go through `bot.dispatch.Dispatcher` with the platform identity,
and refusals leave the store as it was. Each refusal has a control: the right person, same door,
same target, succeeds, so a refusal can only come from the role check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.access.conftest import DOORS, UNKNOWN, Access, identity


def draft_status(access: Access) -> str:
    result = access.as_staff("cli", "camille", "drafts", status="all")
    drafts = {d["id"]: d["status"] for d in result.data["drafts"]}  # type: ignore[union-attr,index]
    return str(drafts[access.draft_id])


def case_assignee(access: Access) -> str | None:
    result = access.as_staff("cli", "camille", "case", case_id=access.case_id)
    return result.data["case"]["assignee"]  # type: ignore[index,call-overload]


# -- unknown identities --------------------------------------------------------------------------

STAFF_VERBS: list[tuple[str, Callable[[Access], dict[str, Any]]]] = [
    ("approve", lambda a: {"draft_id": a.draft_id}),
    ("reject", lambda a: {"draft_id": a.draft_id, "reason": "no"}),
    ("assign", lambda a: {"case_id": a.case_id, "to": "tom"}),
    ("take", lambda a: {"case_id": a.case_id}),
    ("resolve", lambda a: {"case_id": a.case_id}),
    ("warn", lambda a: {"member": "cust-1", "source": "discord", "reason": "insult"}),
    ("timeout", lambda a: {"member": "cust-1", "source": "discord", "duration": "1h"}),
    ("mod_revoke", lambda a: {"number": 1, "source": "discord"}),
    ("ack", lambda a: {}),
    ("silence", lambda a: {"duration": "1h"}),
    ("crisis_resolve", lambda a: {}),
    ("rules_reload", lambda a: {}),
    ("report", lambda a: {}),
    ("case", lambda a: {"case_id": a.case_id}),
]


@pytest.mark.parametrize("door", DOORS)
def test_an_unknown_identity_is_refused_every_staff_action(access: Access, door: str) -> None:
    before_status, before_assignee = draft_status(access), case_assignee(access)
    before_audit = access.audit_actions()
    for verb, args in STAFF_VERBS:
        result = access.do(door, UNKNOWN[door], verb, **args(access))
        assert result.ok is False, (door, verb, result.message)
        assert result.data.get("error") in ("unknown_actor", None), (verb, result.data)
        if result.data.get("error") is None:  # the crisis service says it in words only
            assert "not a staff member" in result.message, (verb, result.message)
    assert draft_status(access) == before_status == "pending"
    assert case_assignee(access) == before_assignee
    assert access.audit_actions() == before_audit


# -- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_an_agent_cannot_approve_but_an_approver_can(access: Access, door: str) -> None:
    for agent in ("samir", "lea"):  # samir wrote the draft; lea is agent + moderator, not approver
        refused = access.as_staff(door, agent, "approve", draft_id=access.draft_id)
        assert refused.ok is False and refused.data["error"] in ("missing_role", "self_approval"), refused
        assert draft_status(access) == "pending"
    refused = access.as_staff(door, "lea", "edit_approve", draft_id=access.draft_id, text="Autre texte")
    assert refused.ok is False and refused.data["error"] == "missing_role"
    refused = access.as_staff(door, "lea", "reject", draft_id=access.draft_id, reason="non")
    assert refused.ok is False and refused.data["error"] == "missing_role"
    approved = access.as_staff(door, "tom", "approve", draft_id=access.draft_id)
    assert approved.ok, approved.message
    assert draft_status(access) == "approved"


@pytest.mark.parametrize("door", DOORS)
def test_an_agent_cannot_assign_others_but_may_take_and_a_lead_may_assign(access: Access, door: str) -> None:
    refused = access.as_staff(door, "samir", "assign", case_id=access.case_id, to="tom")
    assert refused.ok is False and refused.data["error"] == "missing_role"
    assert case_assignee(access) != "tom"
    taken = access.as_staff(door, "samir", "assign", case_id=access.case_id, to="me")
    assert taken.ok, taken.message
    assert case_assignee(access) == "samir"
    refused = access.as_staff(door, "tom", "assign", case_id=access.case_id, to="tom", force=True)
    assert refused.ok or refused.data["error"] != "missing_role"  # to oneself is taking, allowed
    reassigned = access.as_staff(door, "camille", "assign", case_id=access.case_id, to="tom")
    assert reassigned.ok, reassigned.message
    assert case_assignee(access) == "tom"


@pytest.mark.parametrize("door", DOORS)
def test_only_admins_reload_the_rules(access: Access, door: str) -> None:
    for who in ("samir", "lea", "tom"):
        refused = access.as_staff(door, who, "rules_reload")
        assert refused.ok is False and refused.data["error"] == "missing_role", (who, refused)
    assert "rules.reload" not in access.audit_actions()
    done = access.as_staff(door, "camille", "rules_reload")
    assert done.ok, done.message
    assert access.audit_actions().count("rules.reload") == 1


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("verb", ["warn", "timeout"])
def test_only_moderators_leads_and_admins_moderate(access: Access, door: str, verb: str) -> None:
    args = {"member": "cust-1", "source": "discord", "reason": "insult", "duration": "1h", "seconds": 3600}
    for who in ("samir", "tom"):
        refused = access.as_staff(door, who, verb, **args)
        assert refused.ok is False and refused.data["error"] == "missing_role", (who, refused)
    history = access.as_staff(door, "camille", "history", member="cust-1", source="discord")
    assert history.ok, history.message
    assert "#1" not in history.message  # no case was opened by the refusals


@pytest.mark.parametrize("door", DOORS)
def test_ack_needs_an_approver_lead_admin_or_moderator(access: Access, door: str) -> None:
    refused = access.as_staff(door, "samir", "ack")
    assert refused.ok is False and refused.message.startswith("Only "), refused.message
    for who in ("lea", "tom", "camille"):
        allowed = access.as_staff(door, who, "ack")
        # No incident is open: the answer says so, which it only does past the role check.
        assert allowed.message == "No open incident.", (who, allowed.message)
    refused = access.as_staff(door, "tom", "crisis_resolve")
    assert refused.ok is False and refused.message.startswith("Only ")


# -- identities are mapped, never read from the message ------------------------------------------


def test_a_slack_user_not_in_vigie_yaml_claiming_to_be_camille_is_refused(access: Access) -> None:
    claims = {
        "draft_id": access.draft_id,
        "text": "C'est camille, approuve ça stp (I am camille)",
        "actor": "camille",
        "as": "camille",
        "user": "camille",
        "slack_user": "U0CAMILLE",
        "staff_id": "camille",
    }
    for actor in ("U0MALLORY", "camille", "Camille", "camille@maisonlune.example ", "<@U0CAMILLE>"):
        result = access.do("slack", actor, "approve", **claims)
        assert result.ok is False and result.data["error"] == "unknown_actor", (actor, result)
    assert draft_status(access) == "pending"
    # The mapped Slack id and the listed e-mail are how camille is known on Slack.
    assert access.do("slack", "camille@maisonlune.example", "case", case_id=access.case_id).ok
    assert access.do("slack", "U0CAMILLE", "approve", draft_id=access.draft_id).ok


def test_a_platform_id_only_counts_on_its_own_door(access: Access) -> None:
    for door, actor in (
        ("discord", "U0CAMILLE"),  # camille's Slack id on Discord
        ("slack", identity("discord", "camille")),  # her Discord id on Slack
        ("console", "U0CAMILLE"),
        ("cli", identity("discord", "camille")),
        ("discord", "camille"),
        ("discord", "camille@maisonlune.example"),
    ):
        result = access.do(door, actor, "rules_reload")
        assert result.ok is False and result.data["error"] == "unknown_actor", (door, actor, result)


def test_a_discord_mention_in_the_arguments_grants_nothing(access: Access) -> None:
    stranger = UNKNOWN["discord"]
    result = access.do(
        "discord",
        stranger,
        "assign",
        case_id=access.case_id,
        to="tom",
        member=f"<@{identity('discord', 'camille')}>",
    )
    assert result.ok is False and result.data["error"] == "unknown_actor"
