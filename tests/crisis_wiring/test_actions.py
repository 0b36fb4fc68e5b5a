"""Incident actions from each door: the `vigie crisis` CLI, and `dispatch_crisis` as the Slack and
Discord adapters call it (buttons and slash commands), with role checks and one card per incident."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner

from bot.crisis import cli
from bot.crisis_service import dispatch_crisis, handles
from bot.platforms.console.chat import read_channel
from bot.ports import Card, StaffCommand
from bot.queue import run_worker
from bot.runtime import Runtime
from tests.crisis_wiring.support import incident, open_incident, pages

runner = CliRunner()


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime]) -> Iterator[Runtime]:
    runtime = make_runtime()
    cli.set_runtime_factory(lambda: runtime)
    yield runtime
    cli.set_runtime_factory(None)


def crisis_cards(rt: Runtime, incident_id: str) -> list[Card]:
    return [card for _id, _thread, card in read_channel(rt.store, "crisis") if card.footer == incident_id]


def apply_pending(rt: Runtime) -> None:
    """Staff actions leave their effects to an effects job, as a button click must answer at once."""
    run_worker(rt.redis.client, burst=True, with_scheduler=False)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli.app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_ack_then_resolve_updates_the_one_card_and_checks_roles(rt: Runtime) -> None:
    inc = open_incident(rt, "acme", 1)
    assert {b.action for b in crisis_cards(rt, inc)[0].buttons} == {"ack", "silence"}

    code, out, _err = invoke("ack", inc, "--as", "lea")
    assert code == 0 and "acknowledged" in out
    apply_pending(rt)
    cards = crisis_cards(rt, inc)
    assert len(cards) == 1 and [b.action for b in cards[0].buttons] == ["resolve"]
    assert any("Léa" in value for _name, value in cards[0].fields)

    code, _out, err = invoke("resolve", inc, "--as", "tom")
    assert code == 1 and err.count("\n") == 1 and "lead" in err and "Traceback" not in err
    assert incident(rt, inc).status == "acknowledged"

    code, out, _err = invoke("resolve", inc, "--as", "camille", "--json")
    assert code == 0 and json.loads(out)["status"] == "resolved"
    apply_pending(rt)
    cards = crisis_cards(rt, inc)
    assert len(cards) == 1 and cards[0].buttons == () and cards[0].severity == "good"
    assert pages(rt, inc) == [], "no ping on resolve"
    code, _out, err = invoke("ack", inc, "--as", "camille")
    assert code == 1 and "already resolved" in err


def test_cli_silence_list_and_show(rt: Runtime) -> None:
    inc = open_incident(rt, "acme", 2)
    code, out, _err = invoke("silence", inc, "--for", "2h", "--as", "tom", "--json")
    assert code == 0 and json.loads(out)["silenced_until"]
    assert incident(rt, inc).silenced_until is not None

    code, _out, err = invoke("silence", inc, "--for", "soon", "--as", "tom")
    assert code == 1 and "soon" in err and err.count("\n") == 1
    code, _out, err = invoke("silence", inc, "--for", "30d", "--as", "tom")
    assert code == 1 and "7 days" in err

    code, out, _err = invoke("list", "--json")
    listed = json.loads(out)["incidents"]
    assert code == 0 and [row["id"] for row in listed] == [inc]
    code, out, _err = invoke("show", inc, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "open" and shown["silenced_until"]
    assert [entry["kind"] for entry in shown["timeline"]].count("action") == 1
    code, out, _err = invoke("show", inc)
    assert code == 0 and inc in out


def test_cli_failures_are_one_line(rt: Runtime) -> None:
    code, _out, err = invoke("ack", "inc-nope", "--as", "camille")
    assert code == 1 and err.strip() == "No incident inc-nope."
    code, _out, err = invoke("ack", "--as", "camille")
    assert code == 1 and err.strip() == "No open incident."
    code, _out, err = invoke("ack", "--as", "nobody")
    assert code == 1 and "not a staff member" in err
    code, _out, err = invoke("ack")
    assert code == 2 and "--as" in err

    def broken() -> Runtime:
        raise RuntimeError("VIGIE_DATABASE_URL: cannot connect\nmore detail")

    cli.set_runtime_factory(broken)
    code, _out, err = invoke("list")
    assert code == 2 and err == "vigie: cannot start: VIGIE_DATABASE_URL: cannot connect\n"


def test_slack_and_discord_doors_through_dispatch(rt: Runtime) -> None:
    inc = open_incident(rt, "acme", 3)
    silence_button = StaffCommand(door="slack", actor="U0CAMILLE", verb="silence", args={"incident_id": inc})
    assert handles(silence_button)
    result = dispatch_crisis(rt, silence_button)
    assert result.ok and result.data["silenced_until"]

    ack = StaffCommand(door="discord", actor="4242", verb="ack", args={"incident_id": inc})
    result = dispatch_crisis(rt, ack)
    assert result.ok and incident(rt, inc).acknowledged_by == "tom"
    again = dispatch_crisis(rt, ack)
    assert again.ok and "already" in again.message

    stranger = StaffCommand(door="discord", actor="999", verb="ack", args={"incident_id": inc})
    assert not dispatch_crisis(rt, stranger).ok

    # The card's Resolve button arrives as the adapters spell it: `resolve` with a `case_id`.
    button = StaffCommand(door="slack", actor="U0CAMILLE", verb="resolve", args={"case_id": inc})
    assert handles(button) and not handles(
        StaffCommand(door="slack", actor="x", verb="resolve", args={"case_id": "12"})
    )
    assert dispatch_crisis(rt, button).ok
    assert incident(rt, inc).status == "resolved"

    other = open_incident(rt, "other", 4)
    slash = StaffCommand(door="slack", actor="U0CAMILLE", verb="crisis_resolve", args={})
    assert dispatch_crisis(rt, slash).ok, "the latest open incident when no id is given"
    assert incident(rt, other).status == "resolved"


def test_oncall_lists_who_would_be_paged(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()  # the bundled policies: critical pages leads, then leads and approvers
    result = dispatch_crisis(rt, StaffCommand(door="cli", actor="samir", verb="oncall"))
    assert result.ok
    critical = result.data["critical"]
    assert isinstance(critical, list)
    assert critical[0] == {"step": 0, "channels": ["crisis"], "staff": ["camille"]}
    assert critical[1] == {"step": 3, "channels": ["crisis"], "staff": ["camille", "tom"]}
    assert "Camille" in result.message


def test_french_workspace_gets_french_answers_and_cards(make_runtime: Callable[..., Runtime]) -> None:
    from tests.crisis_wiring.conftest import WORKSPACE_YAML

    rt = make_runtime(workspace=WORKSPACE_YAML.replace("language: en", "language: fr"))
    inc = open_incident(rt, "acme", 5)
    card = crisis_cards(rt, inc)[0]
    assert card.title.startswith("Crise possible") and [b.label for b in card.buttons] == [
        "Prendre en charge",
        "Silence 1 h",
    ]
    result = dispatch_crisis(
        rt, StaffCommand(door="cli", actor="samir", verb="ack", args={"incident_id": inc})
    )
    assert not result.ok and result.message.startswith("Seuls")
