"""`vigie case` and `vigie draft`: the same desk through the CLI door, with --as checked against roles,
--json on listings, one-line refusals and non-zero exits."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.casework import cli
from tests.casework.support import Harness, complaint

runner = CliRunner()


@pytest.fixture
def wired(h: Harness) -> Iterator[Harness]:
    cli.set_desk_factory(lambda: h.desk)
    yield h
    cli.set_desk_factory(None)


def test_list_show_take_resolve(wired: Harness) -> None:
    case_id, _ = wired.route(complaint())
    listed = runner.invoke(cli.case_app, ["list", "--as", "samir", "--json"])
    assert listed.exit_code == 0
    assert [c["id"] for c in json.loads(listed.stdout)["cases"]] == [case_id]
    shown = runner.invoke(cli.case_app, ["show", str(case_id), "--as", "tom"])
    assert shown.exit_code == 0 and f"Case #{case_id}" in shown.stdout and "Colis" in shown.stdout
    taken = runner.invoke(cli.case_app, ["take", str(case_id), "--as", "tom"])
    assert taken.exit_code == 0 and "assigned to tom" in taken.stdout
    resolved = runner.invoke(cli.case_app, ["resolve", str(case_id), "--as", "tom"])
    assert resolved.exit_code == 0
    again = runner.invoke(cli.case_app, ["resolve", str(case_id), "--as", "tom"])
    assert again.exit_code == 1 and "is resolved: cannot resolve" in again.stderr
    assert "Traceback" not in again.output
    reopened = runner.invoke(cli.case_app, ["reopen", str(case_id), "--as", "tom"])
    assert reopened.exit_code == 0
    snoozed = runner.invoke(cli.case_app, ["snooze", str(case_id), "--for", "4h", "--as", "tom"])
    assert snoozed.exit_code == 0 and "snoozed until" in snoozed.stdout


def test_roles_and_unknown_ids(wired: Harness) -> None:
    case_id, _ = wired.route(complaint())
    denied = runner.invoke(cli.case_app, ["assign", str(case_id), "tom", "--as", "samir"])
    assert denied.exit_code == 1 and "needs role" in denied.stderr
    assert runner.invoke(cli.case_app, ["assign", str(case_id), "tom", "--as", "camille"]).exit_code == 0
    missing = runner.invoke(cli.case_app, ["show", "999", "--as", "samir"])
    assert missing.exit_code == 1 and missing.stderr.strip() == "No case #999."
    stranger = runner.invoke(cli.case_app, ["list", "--as", "eve"])
    assert stranger.exit_code == 1 and "not a staff member" in stranger.stderr


def test_the_draft_flow(wired: Harness) -> None:
    case_id, _ = wired.route(complaint())
    blocked = runner.invoke(
        cli.draft_app, ["propose", str(case_id), "--text", "idiot", "--as", "samir", "--json"]
    )
    assert blocked.exit_code == 1 and json.loads(blocked.stdout)["draft"]["status"] == "blocked"
    draft_id = str(json.loads(blocked.stdout)["draft"]["id"])
    fixed = runner.invoke(cli.draft_app, ["edit", draft_id, "--text", "Toutes nos excuses.", "--as", "samir"])
    assert fixed.exit_code == 0
    queue = runner.invoke(cli.draft_app, ["list", "--as", "tom", "--json"])
    assert [d["status"] for d in json.loads(queue.stdout)["drafts"]] == ["pending"]
    self_ok = runner.invoke(cli.draft_app, ["approve", draft_id, "--as", "samir"])
    assert self_ok.exit_code == 1 and "second person" in self_ok.stderr
    approved = runner.invoke(cli.draft_app, ["approve", draft_id, "--as", "tom"])
    assert approved.exit_code == 0 and len(wired.kinds("deliver_reply")) == 1
    twice = runner.invoke(cli.draft_app, ["approve", draft_id, "--as", "camille"])
    assert twice.exit_code == 1 and len(wired.kinds("deliver_reply")) == 1
    templated = runner.invoke(
        cli.draft_app, ["propose", str(case_id), "--template", "ask-details", "--as", "samir"]
    )
    assert templated.exit_code == 0
    other = runner.invoke(cli.draft_app, ["list", "--as", "tom"])
    rejected = runner.invoke(
        cli.draft_app, ["reject", other.stdout.split()[0].lstrip("#"), "--reason", "non", "--as", "tom"]
    )
    assert rejected.exit_code == 0
    replies = runner.invoke(cli.draft_app, ["replies", "--case", str(case_id), "--as", "tom", "--json"])
    assert json.loads(replies.stdout)["replies"][0]["suggested"]


def test_an_unbuildable_desk_is_one_line(h: Harness) -> None:
    def broken() -> None:
        raise RuntimeError("database unreachable")

    cli.set_desk_factory(broken)  # type: ignore[arg-type]
    try:
        result = runner.invoke(cli.case_app, ["list", "--as", "samir"])
    finally:
        cli.set_desk_factory(None)
    assert result.exit_code == 2
    assert result.stderr.strip() == "vigie: cannot start the case desk: database unreachable"
