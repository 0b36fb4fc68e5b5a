"""End to end through the real slack_bolt app and slack_sdk client: signed requests built from the
real payloads go to the app served on loopback; what it calls on a fake Slack Web API is checked,
and so is what it hands to the core (recording Ingest and Dispatch doubles standing in for it)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.platforms.slack import SlackCustomerChannel, SlackTeamChat
from bot.platforms.slack.blocks import render_card
from bot.ports import Button, Card, CommandResult, MessageRef, StaffCommand
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, FakeSlack
from tests.slack.slack_doubles import (
    CAMILLE,
    CUSTOMER,
    CUSTOMER_CHANNEL,
    LEA,
    TEAM_CHANNEL,
    TOM,
    FakeClock,
    RecordingDispatch,
    RecordingIngest,
)
from tests.slack.slack_payloads import (
    SignedPoster,
    block_action,
    channel_message,
    event_callback,
    fixture,
    slash_command,
    view_submission,
)

ORIGIN_TS = "1700000100.000100"


def wait_until(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def event_card(text: str) -> Card:
    return Card(
        title="Slack message · Client (shared channel)",
        text=text,
        fields=(("case", "C-1"), ("assignee", "-")),
        labels=("after-sales",),
        url=f"https://slack.com/archives/{CUSTOMER_CHANNEL}/p1700000100000100",
        buttons=tuple(
            Button(action=a, value="C-1", label=a.title())
            for a in ("take", "assign", "resolve", "reply", "escalate")
        ),
    )


class CoreDouble:
    """Just enough of the core for these tests: drafts, four-eyes approval, delivery through the port."""

    def __init__(
        self,
        team_chat: SlackTeamChat,
        customer: SlackCustomerChannel,
        ingest: RecordingIngest,
        clock: FakeClock,
    ) -> None:
        self.team_chat = team_chat
        self.customer = customer
        self.ingest = ingest
        self.clock = clock
        self.drafts: dict[str, dict[str, Any]] = {}

    def draft_card(self, draft_id: str, decided: str | None = None) -> Card:
        draft = self.drafts[draft_id]
        buttons = (
            ()
            if decided
            else (
                Button(action="approve", value=draft_id, label="Approve & send", style="primary"),
                Button(action="edit", value=draft_id, label="Edit"),
                Button(action="reject", value=draft_id, label="Reject", style="danger"),
            )
        )
        return Card(
            title=f"Draft {draft_id}",
            text=draft["text"],
            fields=(("ethics", "ok"),),
            buttons=buttons,
            footer=decided or f"by {draft['author']}",
        )

    def __call__(self, command: StaffCommand) -> CommandResult:
        args = command.args
        if command.verb == "draft":
            draft_id = f"d-{len(self.drafts) + 1}"
            self.drafts[draft_id] = {"author": command.actor, "text": args["text"]}
            self.clock.advance(2)
            ref = self.team_chat.post(
                "inbox",
                self.draft_card(draft_id),
                thread=MessageRef(
                    platform="slack", channel=str(args["channel"]), message_id=str(args["thread_ts"])
                ),
            )
            self.drafts[draft_id]["ref"] = ref
            return CommandResult(ok=True, message=f"Draft {draft_id} saved; it is sent only after approval.")
        if command.verb == "approve":
            draft = self.drafts[str(args["draft_id"])]
            if draft["author"] == command.actor:
                return CommandResult(ok=False, message="You cannot approve your own draft.")
            self.clock.advance(2)
            self.customer.deliver_reply(
                self.ingest.events[0], draft["text"], idempotency_key=f"{args['draft_id']}:deliver"
            )
            card = self.draft_card(str(args["draft_id"]), decided=f"Approved and sent by {command.actor}")
            return CommandResult(ok=True, message="", data={"card": card.model_dump(mode="json")})
        if command.verb == "edit":
            if not str(args["text"]).strip("!"):
                return CommandResult(ok=False, message="The ethics rules refuse this reply.")
            self.drafts[str(args["draft_id"])]["text"] = args["text"]
            return CommandResult(
                ok=True,
                message="Draft updated.",
                data={"card": self.draft_card(str(args["draft_id"])).model_dump(mode="json")},
            )
        return CommandResult(ok=True, message=f"ok: {command.verb}")


@pytest.fixture
def core(
    team_chat: SlackTeamChat,
    customer: SlackCustomerChannel,
    ingest: RecordingIngest,
    dispatch: RecordingDispatch,
    clock: FakeClock,
) -> CoreDouble:
    double = CoreDouble(team_chat, customer, ingest, clock)
    dispatch.handler = double
    return double


def customer_message(
    slack: SignedPoster,
    text: str = "Mon colis est arrivé cassé.",
    *,
    ts: str = ORIGIN_TS,
    event_id: str = "Ev0001",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    event = channel_message(channel=CUSTOMER_CHANNEL, user=CUSTOMER, text=text, ts=ts, **kwargs)
    return slack.event(event_callback(event, event_id=event_id), headers=headers)


def mirrored_card(slack: SignedPoster, ingest: RecordingIngest, team_chat: SlackTeamChat) -> MessageRef:
    assert customer_message(slack).status_code == 200
    return team_chat.post("inbox", event_card(ingest.events[0].text))


def staff_thread_reply(
    slack: SignedPoster,
    card: MessageRef,
    *,
    user: str = LEA,
    text: str = "Bonjour, désolés !",
    event_id: str = "Ev0100",
    headers: dict[str, str] | None = None,
) -> Any:
    event = channel_message(
        channel=TEAM_CHANNEL,
        user=user,
        text=text,
        ts="1700000200.000200",
        thread_ts=card.message_id,
        parent_user_id=BOT_USER_ID,
    )
    return slack.event(event_callback(event, event_id=event_id), headers=headers)


# -- mirroring


def test_customer_message_becomes_an_event_then_a_card_threaded_and_updated(
    slack: SignedPoster,
    ingest: RecordingIngest,
    team_chat: SlackTeamChat,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    card = mirrored_card(slack, ingest, team_chat)
    [event] = ingest.events
    assert (event.source, event.kind, event.channel, event.author.id) == (
        "slack",
        "message",
        CUSTOMER_CHANNEL,
        CUSTOMER,
    )
    assert event.external_id == f"{CUSTOMER_CHANNEL}:{ORIGIN_TS}"
    assert event.thread_id == f"{CUSTOMER_CHANNEL}:{ORIGIN_TS}"
    [post] = fake_slack.posts(TEAM_CHANNEL)
    assert post.authorized and post.params["text"].startswith("Slack message")
    actions = next(b for b in post.params["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        "vigie:take",
        "vigie:assign",
        "vigie:resolve",
        "vigie:reply",
        "vigie:escalate",
    ]

    # The customer follows up in their thread: same conversation, so the card's thread.
    customer_message(slack, "Toujours rien ?", ts="1700000300.000300", thread_ts=ORIGIN_TS, event_id="Ev0002")
    follow_up = ingest.events[1]
    assert follow_up.thread_id == event.thread_id and follow_up.reply_to == f"{CUSTOMER_CHANNEL}:{ORIGIN_TS}"
    clock.advance(2)
    team_chat.post("inbox", event_card(follow_up.text), thread=card)
    assert fake_slack.posts(TEAM_CHANNEL)[1].params["thread_ts"] == card.message_id

    # The case changes: the card is updated in place, not re-posted.
    team_chat.update(card, event_card(event.text).model_copy(update={"fields": (("assignee", "Léa"),)}))
    [update] = fake_slack.of("chat.update")
    assert update.params["ts"] == card.message_id and update.params["channel"] == TEAM_CHANNEL
    assert len(fake_slack.posts(TEAM_CHANNEL)) == 2


# -- drafting and approval


def test_thread_reply_becomes_a_draft_card_and_is_never_sent(
    slack: SignedPoster,
    ingest: RecordingIngest,
    team_chat: SlackTeamChat,
    dispatch: RecordingDispatch,
    core: CoreDouble,
    fake_slack: FakeSlack,
) -> None:
    card = mirrored_card(slack, ingest, team_chat)
    assert staff_thread_reply(slack, card).status_code == 200
    [command] = dispatch.commands
    assert (command.door, command.actor, command.verb) == ("slack", LEA, "draft")
    assert command.args == {
        "text": "Bonjour, désolés !",
        "channel": TEAM_CHANNEL,
        "thread_ts": card.message_id,
        "message_ts": "1700000200.000200",
        "slack_user": LEA,
    }
    draft_post = fake_slack.posts(TEAM_CHANNEL)[-1]
    assert draft_post.params["thread_ts"] == card.message_id
    actions = next(b for b in draft_post.params["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["vigie:approve", "vigie:edit", "vigie:reject"]
    [notice] = fake_slack.of("chat.postEphemeral")
    assert notice.params["user"] == LEA and notice.params["thread_ts"] == card.message_id
    assert "Draft d-1 saved" in notice.params["text"]
    assert fake_slack.posts(CUSTOMER_CHANNEL) == []  # thread text is internal
    assert len(ingest.events) == 1  # and it is not customer traffic either


def click(
    slack: SignedPoster,
    fake_slack: FakeSlack,
    *,
    action: str,
    value: str,
    user: str,
    message_ts: str,
    thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> Any:
    payload = block_action(
        action_id=f"vigie:{action}",
        value=value,
        user=user,
        channel=TEAM_CHANNEL,
        message_ts=message_ts,
        thread_ts=thread_ts,
        blocks=blocks,
        response_url=fake_slack.response_url(),
    )
    return slack.interaction(payload)


def test_approve_click_delivers_to_the_origin_and_updates_the_card(
    slack: SignedPoster,
    ingest: RecordingIngest,
    team_chat: SlackTeamChat,
    dispatch: RecordingDispatch,
    core: CoreDouble,
    fake_slack: FakeSlack,
) -> None:
    card = mirrored_card(slack, ingest, team_chat)
    staff_thread_reply(
        slack, card, text="Bonjour, nous renvoyons un colis <aujourd'hui> & vous tenons au courant."
    )
    draft_ref: MessageRef = core.drafts["d-1"]["ref"]
    started = time.monotonic()
    response = click(
        slack,
        fake_slack,
        action="approve",
        value="d-1",
        user=TOM,
        message_ts=draft_ref.message_id,
        thread_ts=card.message_id,
    )
    assert response.status_code == 200 and time.monotonic() - started < 3
    [update] = fake_slack.wait_for("chat.update")
    wait_until(lambda: len(dispatch.commands) == 2)
    approve = dispatch.commands[1]
    assert (approve.verb, approve.actor, approve.args["draft_id"]) == ("approve", "tom@example.com", "d-1")
    assert approve.args["channel"] == TEAM_CHANNEL and approve.args["message_ts"] == draft_ref.message_id
    [delivered] = fake_slack.posts(CUSTOMER_CHANNEL)
    assert delivered.params["thread_ts"] == ORIGIN_TS
    assert (
        delivered.params["text"]
        == "Bonjour, nous renvoyons un colis &lt;aujourd'hui&gt; &amp; vous tenons au courant."
    )
    assert update.params["ts"] == draft_ref.message_id
    assert all(block["type"] != "actions" for block in update.params["blocks"])  # decided: no more buttons
    assert "Approved and sent by tom@example.com" in json.dumps(update.params["blocks"])


def test_self_approval_is_refused_and_nothing_is_sent(
    slack: SignedPoster,
    ingest: RecordingIngest,
    team_chat: SlackTeamChat,
    dispatch: RecordingDispatch,
    core: CoreDouble,
    fake_slack: FakeSlack,
) -> None:
    card = mirrored_card(slack, ingest, team_chat)
    staff_thread_reply(slack, card)
    draft_ref: MessageRef = core.drafts["d-1"]["ref"]
    click(
        slack,
        fake_slack,
        action="approve",
        value="d-1",
        user=LEA,
        message_ts=draft_ref.message_id,
        thread_ts=card.message_id,
    )
    notices = fake_slack.wait_for("chat.postEphemeral", 2)
    assert notices[-1].params["user"] == LEA and "cannot approve your own draft" in notices[-1].params["text"]
    assert fake_slack.posts(CUSTOMER_CHANNEL) == [] and fake_slack.of("chat.update") == []


def test_edit_opens_a_prefilled_modal_and_its_submission_updates_the_draft(
    slack: SignedPoster,
    ingest: RecordingIngest,
    team_chat: SlackTeamChat,
    dispatch: RecordingDispatch,
    core: CoreDouble,
    fake_slack: FakeSlack,
) -> None:
    card = mirrored_card(slack, ingest, team_chat)
    staff_thread_reply(slack, card, text="Bonjour & merci <3")
    draft_ref: MessageRef = core.drafts["d-1"]["ref"]
    blocks = render_card(core.draft_card("d-1")).blocks
    response = click(
        slack,
        fake_slack,
        action="edit",
        value="d-1",
        user=TOM,
        message_ts=draft_ref.message_id,
        thread_ts=card.message_id,
        blocks=blocks,
    )
    assert response.status_code == 200
    [opened] = fake_slack.of("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "vigie_edit"
    assert view["blocks"][0]["element"]["initial_value"] == "Bonjour & merci <3"
    metadata = json.loads(view["private_metadata"])
    assert metadata["value"] == "d-1" and metadata["message_ts"] == draft_ref.message_id

    submitted = slack.interaction(
        view_submission(
            callback_id="vigie_edit",
            user=TOM,
            private_metadata=view["private_metadata"],
            values={"text": {"type": "plain_text_input", "value": "Bonjour, merci !"}},
        )
    )
    assert submitted.status_code == 200 and submitted.text == ""  # the modal closes
    edit = dispatch.commands[-1]
    assert (edit.verb, edit.actor, edit.args["draft_id"], edit.args["text"]) == (
        "edit",
        "tom@example.com",
        "d-1",
        "Bonjour, merci !",
    )
    [update] = fake_slack.of("chat.update")
    assert update.params["ts"] == draft_ref.message_id and "Bonjour, merci !" in json.dumps(
        update.params["blocks"]
    )

    refused = slack.interaction(
        view_submission(
            callback_id="vigie_edit",
            user=TOM,
            private_metadata=view["private_metadata"],
            values={"text": {"type": "plain_text_input", "value": "!!!"}},
        )
    )
    assert refused.json() == {
        "response_action": "errors",
        "errors": {"text": "The ethics rules refuse this reply."},
    }
    empty = slack.interaction(
        view_submission(
            callback_id="vigie_edit",
            user=CAMILLE,
            private_metadata=view["private_metadata"],
            values={"text": {"type": "plain_text_input", "value": "  "}},
        )
    )
    assert empty.json() == {"response_action": "errors", "errors": {"text": "Écrivez la réponse."}}


def test_assign_and_reply_buttons_open_modals_whose_submissions_dispatch(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack
) -> None:
    click(slack, fake_slack, action="assign", value="C-1", user=LEA, message_ts="1700000001.000001")
    click(slack, fake_slack, action="reply", value="C-1", user=LEA, message_ts="1700000001.000001")
    assign_view, reply_view = (call.params["view"] for call in fake_slack.of("views.open"))
    assert assign_view["blocks"][0]["element"]["type"] == "users_select"
    assert dispatch.commands == []  # opening a modal changes nothing yet

    slack.interaction(
        view_submission(
            callback_id="vigie_assign",
            user=LEA,
            private_metadata=assign_view["private_metadata"],
            values={"assignee": {"type": "users_select", "selected_user": TOM}},
        )
    )
    slack.interaction(
        view_submission(
            callback_id="vigie_reply",
            user=LEA,
            private_metadata=reply_view["private_metadata"],
            values={"text": {"type": "plain_text_input", "value": "On s'en occupe."}},
        )
    )
    assign, draft = dispatch.commands
    assert (assign.verb, assign.args["case_id"], assign.args["assignee"], assign.args["assignee_slack"]) == (
        "assign",
        "C-1",
        "tom@example.com",
        TOM,
    )
    assert (draft.verb, draft.args["case_id"], draft.args["text"]) == ("draft", "C-1", "On s'en occupe.")
    assert draft.args["channel"] == TEAM_CHANNEL and draft.args["thread_ts"] == "1700000001.000001"


@pytest.mark.parametrize(
    ("action", "key"),
    [
        ("take", "case_id"),
        ("resolve", "case_id"),
        ("escalate", "case_id"),
        ("reject", "draft_id"),
        ("ack", "incident_id"),
        ("silence", "incident_id"),
    ],
)
def test_direct_buttons_dispatch_their_verb(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack, action: str, key: str
) -> None:
    click(slack, fake_slack, action=action, value="X-9", user=LEA, message_ts="1700000001.000001")
    wait_until(lambda: len(dispatch.commands) == 1)
    [command] = dispatch.commands
    assert (command.verb, command.args[key], command.actor) == (action, "X-9", LEA)
    [notice] = fake_slack.wait_for("chat.postEphemeral")
    assert notice.params["text"] == f"ok: {action}"


def test_a_click_on_an_ephemeral_card_answers_through_the_response_url(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack
) -> None:
    dispatch.handler = lambda c: CommandResult(
        ok=True, message="Taken.", data={"card": Card(title="Case C-1 · Léa").model_dump(mode="json")}
    )
    payload = block_action(
        action_id="vigie:take",
        value="C-1",
        user=LEA,
        channel=TEAM_CHANNEL,
        message_ts="111.222",
        ephemeral=True,
        response_url=fake_slack.response_url(),
    )
    slack.interaction(payload)
    replaced, notice = fake_slack.wait_for("response_url", 2)
    assert replaced.params["replace_original"] is True and "Case C-1" in replaced.params["text"]
    assert notice.params["text"] == "Taken." and fake_slack.of("chat.update") == []


# -- slash commands

COMMANDS = [
    ("case C-42", "case", {"case_id": "C-42"}),
    ("take", "take", {}),
    ("resolve C-42", "resolve", {"case_id": "C-42"}),
    (
        f"assign <@{TOM}|tom> C-42",
        "assign",
        {"case_id": "C-42", "assignee": "tom@example.com", "assignee_slack": TOM},
    ),
    ("report", "report", {"period": "7d"}),
    ("rules test t'es un c0nnard", "rules_test", {"text": "t'es un c0nnard"}),
    ("rules reload", "rules_reload", {}),
    ("crisis ack", "ack", {}),
    ("crisis resolve I-2", "crisis_resolve", {"incident_id": "I-2"}),
    ("oncall", "oncall", {}),
]


@pytest.mark.parametrize(("text", "verb", "args"), COMMANDS)
def test_every_slash_command_is_dispatched_and_answered_ephemerally(
    slack: SignedPoster,
    dispatch: RecordingDispatch,
    fake_slack: FakeSlack,
    text: str,
    verb: str,
    args: dict[str, str],
) -> None:
    dispatch.handler = lambda c: CommandResult(ok=True, message=f"{c.verb} done for <{c.actor}>")
    response = slack.command(
        slash_command(text, user=LEA, channel=TEAM_CHANNEL, response_url=fake_slack.response_url())
    )
    assert response.status_code == 200 and response.text == ""
    [answer] = fake_slack.wait_for("response_url")
    assert answer.params["response_type"] == "ephemeral"
    assert answer.params["text"] == f"{verb} done for &lt;{LEA}&gt;"
    [command] = dispatch.commands
    assert (command.verb, command.actor) == (verb, LEA)
    assert command.args == {**args, "channel": TEAM_CHANNEL, "slack_user": LEA}


def test_a_slash_command_can_answer_with_a_card(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack
) -> None:
    dispatch.handler = lambda c: CommandResult(
        ok=True, message="", data={"card": event_card("x").model_dump()}
    )
    slack.command(
        slash_command("case C-1", user=LEA, channel=TEAM_CHANNEL, response_url=fake_slack.response_url())
    )
    [answer] = fake_slack.wait_for("response_url")
    assert any(block["type"] == "actions" for block in answer.params["blocks"])


def test_help_usage_and_unknown_are_answered_at_once_in_the_users_language(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack
) -> None:
    def run(text: str, user: str = LEA) -> dict[str, Any]:
        body = slash_command(text, user=user, channel=TEAM_CHANNEL, response_url=fake_slack.response_url())
        response = slack.command(body)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        assert answer["response_type"] == "ephemeral"
        return answer

    assert "Vigie commands" in run("help")["text"]
    assert "Commandes Vigie" in run("", user=CAMILLE)["text"]
    assert "/vigie assign @user [case]" in run("assign nobody")["text"]
    assert "Unknown command `dance`" in run("dance")["text"]
    assert dispatch.commands == [] and fake_slack.of("response_url") == []


# -- reliability


def test_a_retried_event_is_handled_once(
    slack: SignedPoster,
    ingest: RecordingIngest,
    team_chat: SlackTeamChat,
    dispatch: RecordingDispatch,
    core: CoreDouble,
    fake_slack: FakeSlack,
) -> None:
    card = mirrored_card(slack, ingest, team_chat)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert customer_message(slack, headers=retry).status_code == 200
    assert ingest.calls == 1
    staff_thread_reply(slack, card)
    assert staff_thread_reply(slack, card, headers=retry).status_code == 200
    assert dispatch.verbs() == ["draft"]
    assert (
        len([p for p in fake_slack.posts(TEAM_CHANNEL) if p.params.get("thread_ts")]) == 1
    )  # one draft card


def test_a_failed_ingest_answers_500_and_slacks_retry_redoes_it(
    slack: SignedPoster, ingest: RecordingIngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = RecordingIngest.__call__
    failures = [RuntimeError("database is down")]

    def flaky(self: RecordingIngest, event: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(self, event)

    monkeypatch.setattr(RecordingIngest, "__call__", flaky)
    assert customer_message(slack).status_code == 500  # not acked: Slack retries
    assert customer_message(slack, headers={"X-Slack-Retry-Num": "1"}).status_code == 200
    assert len(ingest.events) == 1


@pytest.mark.parametrize("problem", ["wrong secret", "too old", "unsigned"])
def test_unsigned_or_stale_requests_get_401(
    slack: SignedPoster, ingest: RecordingIngest, problem: str
) -> None:
    body = json.dumps(
        event_callback(
            channel_message(channel=CUSTOMER_CHANNEL, user=CUSTOMER, text="hi", ts=ORIGIN_TS),
            event_id="Ev0009",
        )
    )
    if problem == "wrong secret":
        response = slack.post(body, content_type="application/json", secret="not-the-secret")
    elif problem == "too old":
        response = slack.post(body, content_type="application/json", timestamp=int(time.time()) - 301)
    else:
        response = slack.client.post(
            "/slack/events", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 401
    assert ingest.calls == 0


def envelope(name: str, event_id: str) -> dict[str, Any]:
    body = fixture(name)
    body["event_id"] = event_id
    return body


def test_every_subscribed_event_and_subtype_is_acked(slack: SignedPoster, ingest: RecordingIngest) -> None:
    replied_without_subtype = envelope("events/message_replied.slack_docs.json", "Ev1007")
    replied_without_subtype["event"].pop("subtype")
    metadata_posted = event_callback(
        fixture("events/message_metadata_posted_inner_event.slack_docs.json"), event_id="Ev1010"
    )
    bodies = [
        envelope("events/message_changed.bolt.json", "Ev1001"),
        envelope("events/message_thread_broadcast.bolt.json", "Ev1002"),
        envelope("events/message_thread_broadcast.slack_docs.json", "Ev1003"),
        envelope("events/app_mention.bolt.json", "Ev1004"),
        envelope("events/app_mention_with_blocks.bolt.json", "Ev1005"),
        envelope("events/message_replied.slack_docs.json", "Ev1006"),
        replied_without_subtype,
        envelope("events/reaction_added.bolt.json", "Ev1008"),
        event_callback({**fixture("events/app_mention_inner_event.slack_docs.json")}, event_id="Ev1009"),
        metadata_posted,
        event_callback(
            {"type": "member_joined_channel", "user": "W1", "channel": "C1", "event_ts": "1.2"},
            event_id="Ev1011",
        ),
        event_callback(
            {
                "type": "message",
                "subtype": "channel_join",
                "user": "W1",
                "channel": "C1",
                "ts": "1.2",
                "text": "<@W1> has joined",
            },
            event_id="Ev1012",
        ),
        event_callback(
            {
                "type": "message",
                "subtype": "message_deleted",
                "channel": "C1",
                "ts": "1.3",
                "deleted_ts": "1.2",
                "previous_message": {"type": "message", "user": "W1", "ts": "1.2"},
            },
            event_id="Ev1013",
        ),
        event_callback({"type": "channel_rename", "channel": {"id": "C1", "name": "x"}}, event_id="Ev1014"),
    ]
    for body in bodies:
        response = slack.event(body)
        assert response.status_code == 200, body["event"]["type"]
    kinds = sorted((e.kind, e.metadata.get("edited") is True) for e in ingest.events)
    # An edit, two broadcasts, three mentions; message_replied announcements are not events.
    assert kinds == [("mention", False)] * 3 + [("message", False)] * 2 + [("message", True)]
    edit = next(e for e in ingest.events if e.metadata.get("edited"))
    assert (
        edit.text == "updated message" and edit.external_id == "C111:1665102338.901939:edit:1665102362.000000"
    )
    challenge = fixture("events/url_verification.bolt.json")
    assert slack.event(challenge).json() == {"challenge": challenge["challenge"]}


def test_vigies_own_messages_and_edits_are_ignored(slack: SignedPoster, ingest: RecordingIngest) -> None:
    own = channel_message(channel=CUSTOMER_CHANNEL, user=BOT_USER_ID, text="Bonjour", ts="1700000500.000001")
    own["bot_id"] = BOT_ID
    other_bot = channel_message(
        channel=CUSTOMER_CHANNEL, user="UOTHERBOT", text="beep", ts="1700000500.000002", subtype="bot_message"
    )
    edited = fixture("events/message_changed.bolt.json")
    edited["event"]["message"].update({"user": BOT_USER_ID, "bot_id": BOT_ID})
    edited["event_id"] = "Ev2003"
    for number, body in enumerate(
        [event_callback(own, event_id="Ev2001"), event_callback(other_bot, event_id="Ev2002"), edited]
    ):
        assert slack.event(body).status_code == 200, number
    assert ingest.calls == 0


def test_a_staff_reaction_on_a_card_acts_and_other_reactions_do_nothing(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack
) -> None:
    body = fixture("events/reaction_added.bolt.json")
    body["event"].update({"user": LEA, "reaction": "eyes"})
    body["event"]["item"].update({"channel": TEAM_CHANNEL, "ts": "1700000001.000001"})
    slack.event(body)
    body["event"]["reaction"] = "heart_eyes"
    body["event_id"] = "Ev3002"
    slack.event(body)
    [command] = dispatch.commands
    assert (command.verb, command.args["channel"], command.args["message_ts"]) == (
        "take",
        TEAM_CHANNEL,
        "1700000001.000001",
    )


def test_the_message_shortcut_gives_thread_actions_without_slash_commands(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack
) -> None:
    shortcut = {
        "type": "message_action",
        "callback_id": "vigie_thread_actions",
        "trigger_id": "1.2.x",
        "message_ts": "1700000009.000009",
        "response_url": fake_slack.response_url(),
        "token": "x",
        "action_ts": "1.2",
        "user": {"id": TOM, "name": "tom"},
        "channel": {"id": TEAM_CHANNEL, "name": "t"},
        "team": {"id": "T111", "domain": "d"},
        "message": {
            "type": "message",
            "user": LEA,
            "ts": "1700000009.000009",
            "thread_ts": "1700000001.000001",
            "text": "on fait quoi ?",
        },
    }
    assert slack.interaction(shortcut, path="/slack/interactions").status_code == 200
    [opened] = fake_slack.of("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "vigie_thread"
    submitted = view_submission(
        callback_id="vigie_thread",
        user=TOM,
        private_metadata=view["private_metadata"],
        values={
            "verb": {"type": "static_select", "selected_option": {"value": "resolve"}},
            "assignee": {"type": "users_select", "selected_user": None},
            "text": {"type": "plain_text_input", "value": None},
        },
    )
    assert slack.interaction(submitted).status_code == 200
    [command] = dispatch.commands
    assert (command.verb, command.actor) == ("resolve", "tom@example.com")
    assert command.args == {
        "channel": TEAM_CHANNEL,
        "message_ts": "1700000009.000009",
        "thread_ts": "1700000001.000001",
        "slack_user": TOM,
    }


def test_commands_and_interactions_also_answer_on_their_alias_urls(
    slack: SignedPoster, dispatch: RecordingDispatch, fake_slack: FakeSlack
) -> None:
    body = slash_command("oncall", user=LEA, channel=TEAM_CHANNEL, response_url=fake_slack.response_url())
    assert slack.command(body, path="/slack/commands").status_code == 200
    fake_slack.wait_for("response_url")
    assert dispatch.verbs() == ["oncall"]
    assert slack.client.get("/slack/events").status_code == 405
