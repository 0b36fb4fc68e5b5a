"""The Bolt app: Slack events, button clicks, modals, the `/vigie` command and the message shortcut,
translated into `Ingest` calls (customer traffic) and `Dispatch` calls (staff actions).

Timing. The app runs with `process_before_response=True`: an event is stored (Ingest) or handed to
the core (a thread reply becomes a draft) *before* Slack gets its 200, so a crash means a 500 and a
Slack retry rather than a lost message. Button clicks and slash commands are acked at once and
dispatched in a lazy listener (Bolt's thread), so a slow command never breaks the 3 s rule. Modal
submissions dispatch inline, because a refusal must be shown in the modal (`response_action`).

Every event type and subtype Vigie subscribes to has a listener (catch-alls last), since an
unmatched request gets a 404 and Slack retries it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from typing import Any

from pydantic import SecretStr, ValidationError
from redis import Redis
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.events import JsonValue
from bot.platforms.slack import commands, modals, texts
from bot.platforms.slack.blocks import ACTION_PREFIX, card_text_from_blocks, notice, render_card
from bot.platforms.slack.dedupe import EventOnce
from bot.platforms.slack.identity import Actor, Identities, StaffLookup
from bot.platforms.slack.ingress import is_thread_reply, message_event
from bot.ports import Card, CommandResult, Dispatch, Ingest, StaffCommand

log = logging.getLogger(__name__)

# What each button's value names, as the Discord adapter spells it: the core reads one vocabulary.
VALUE_KEYS: dict[str, str] = {
    "take": "case_id",
    "assign": "case_id",
    "resolve": "case_id",
    "reply": "case_id",
    "escalate": "case_id",
    "approve": "draft_id",
    "edit": "draft_id",
    "reject": "draft_id",
    "ack": "incident_id",
    "silence": "incident_id",
}
MODAL_BUTTONS = ("assign", "reply", "edit")
DIRECT_BUTTONS = tuple(verb for verb in VALUE_KEYS if verb not in MODAL_BUTTONS)
# Reactions on a card in a team channel: a thumb-friendly way to act without slash commands.
REACTIONS: dict[str, str] = {
    "eyes": "take",
    "white_check_mark": "resolve",
    "heavy_check_mark": "resolve",
    "rotating_light": "escalate",
}
NEW_MESSAGE_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
SHORTCUT = "vigie_thread_actions"
COMMAND = "/vigie"


def _pattern(verbs: Collection[str]) -> re.Pattern[str]:
    return re.compile("^" + re.escape(ACTION_PREFIX) + "(" + "|".join(verbs) + r")(:\d+)?$")


class SlackBridge:
    """The listeners, with what they need. One instance per Bolt app."""

    def __init__(
        self,
        *,
        ingest: Ingest,
        dispatch: Dispatch,
        redis: Redis,
        identities: Identities,
        bot_user_id: str | None,
        team_channels: Collection[str],
    ) -> None:
        self.ingest = ingest
        self.dispatch = dispatch
        self.once = EventOnce(redis)
        self.identities = identities
        self.bot_user_id = bot_user_id
        self.team_channels = frozenset(team_channels)

    # -- events

    def on_message(self, body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        self._once(body, lambda: self._message(body, event, client))

    def on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        channel = str(event.get("channel") or "")
        if channel in self.team_channels or self._is_bot(event):
            return  # staff talking to Vigie in its own channels: threads are handled as messages

        def work() -> None:
            found = message_event(body, event, kind="mention")
            if found is not None:
                self.ingest(found)

        self._once(body, work)

    def on_reaction(self, body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        item = event.get("item") or {}
        channel = str(item.get("channel") or "")  # reactions carry the channel under item
        verb = REACTIONS.get(str(event.get("reaction") or ""))
        if verb is None or channel not in self.team_channels or not event.get("user"):
            return

        def work() -> None:
            actor = self.identities.resolve(str(event["user"]))
            location: dict[str, JsonValue] = {"channel": channel, "message_ts": item.get("ts")}
            result = self._run(actor, verb, location)
            self._ephemeral(client, channel, actor, result.message, None)

        self._once(body, work)

    def on_other_event(self) -> None:
        """Subscribed events Vigie does not act on: acked so Slack does not retry them."""

    def _message(self, body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            inner = event.get("message") or {}
            if self._is_bot(inner) or str(event.get("channel")) in self.team_channels:
                return  # Vigie's own card updates, and staff editing internal thread text
            found = message_event(body, event)
            if found is not None:
                self.ingest(found)
            return
        if "message" in event or subtype not in NEW_MESSAGE_SUBTYPES or self._is_bot(event):
            # message_replied (sometimes without its subtype) only announces a reply that arrives
            # as a message of its own; deletions, joins and bot posts are not customer traffic.
            return
        channel = str(event.get("channel") or "")
        user = event.get("user")
        if not user:
            return
        if channel in self.team_channels:
            if is_thread_reply(event):
                self._draft(event, client, self.identities.resolve(str(user)))
            return
        if is_thread_reply(event) and event.get("parent_user_id") == self.bot_user_id:
            actor = self.identities.resolve(str(user))
            if actor.staff_id is not None:
                self._draft(event, client, actor)  # staff answering in a Vigie thread: internal
                return
        found = message_event(body, event)
        if found is not None:
            self.ingest(found)

    def _draft(self, event: dict[str, Any], client: WebClient, actor: Actor) -> None:
        """Thread text is internal: a reply in a card's thread is only ever a draft."""
        channel = str(event["channel"])
        thread_ts = str(event["thread_ts"])
        args: dict[str, JsonValue] = {
            "text": str(event.get("text") or ""),
            "channel": channel,
            "thread_ts": thread_ts,
            "message_ts": str(event.get("ts")),
        }
        result = self._run(actor, "draft", args, raise_errors=True)
        self._ephemeral(client, channel, actor, result.message, thread_ts)

    # -- buttons

    def ack_only(self, ack: Ack) -> None:
        ack()

    def on_button(
        self, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond | None
    ) -> None:
        verb = self._button_verb(action)
        actor = self.identities.resolve(str(body["user"]["id"]))
        args: dict[str, JsonValue] = {
            VALUE_KEYS[verb]: str(action.get("value") or ""),
            **self._location(body),
        }
        result = self._run(actor, verb, args)
        self._show(result, body, client, respond, actor)

    def open_modal(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        verb = self._button_verb(action)
        actor = self.identities.resolve(str(body["user"]["id"]))
        meta: dict[str, JsonValue] = {
            "verb": verb,
            "value": str(action.get("value") or ""),
            "lang": actor.lang,
            **self._location(body),
        }
        if verb == "assign":
            view = modals.assign_view(meta, actor.lang)
        elif verb == "reply":
            view = modals.reply_view(meta, actor.lang)
        else:
            current = card_text_from_blocks(list((body.get("message") or {}).get("blocks") or []))
            view = modals.edit_view(meta, current, actor.lang)
        try:
            client.views_open(trigger_id=str(body["trigger_id"]), view=view)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("slack: views.open failed: %s", type(error).__name__)

    # -- modals

    def on_submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = modals.read_metadata(view)
        actor = self.identities.resolve(str(body["user"]["id"]))
        lang = actor.lang
        args: dict[str, JsonValue] = {
            key: meta[key] for key in ("channel", "message_ts", "thread_ts") if meta.get(key)
        }
        if view.get("callback_id") == modals.THREAD:
            # From the message shortcut: no id, the core finds the case from the thread location.
            verb = modals.state_value(view, "verb") or ""
            error_block = "verb"
        else:
            verb = str(meta.get("verb") or "")
            args[VALUE_KEYS.get(verb, "value")] = meta.get("value")
            error_block = "assignee" if verb == "assign" else "text"
        if verb == "assign":
            assignee = modals.state_value(view, "assignee")
            if not assignee:
                ack(response_action="errors", errors={"assignee": texts.text("need_assignee", lang)})
                return
            args["assignee"] = self.identities.resolve(assignee).identity
            args["assignee_slack"] = assignee
        elif verb in ("reply", "edit", "draft"):
            text = modals.state_value(view, "text")
            if not text or not text.strip():
                ack(response_action="errors", errors={"text": texts.text("need_text", lang)})
                return
            args["text"] = text
            verb = "edit" if verb == "edit" else "draft"  # a reply written in a modal is a draft too
        elif verb not in modals.THREAD_VERBS:
            ack()
            return
        result = self._run(actor, verb, args)
        if not result.ok:
            ack(response_action="errors", errors={error_block: result.message or texts.text("failed", lang)})
            return
        ack()
        self._after_submit(result, meta, client, actor)

    def on_thread_shortcut(self, ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = self.identities.resolve(str(shortcut["user"]["id"]))
        message = shortcut.get("message") or {}
        ts = str(message.get("ts") or shortcut.get("message_ts") or "")
        meta: dict[str, JsonValue] = {
            "channel": str((shortcut.get("channel") or {}).get("id") or ""),
            "message_ts": ts,
            "thread_ts": str(message.get("thread_ts") or ts),
        }
        try:
            client.views_open(
                trigger_id=str(shortcut["trigger_id"]), view=modals.thread_view(meta, actor.lang)
            )
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("slack: views.open failed: %s", type(error).__name__)

    # -- slash command

    def ack_command(self, ack: Ack, command: dict[str, Any]) -> None:
        actor_lang = self.identities.resolve(str(command["user_id"])).lang
        parsed = commands.parse(str(command.get("text") or ""))
        if parsed.verb is not None:
            ack()
            return
        if parsed.usage:
            reply = texts.text("usage", actor_lang, usage=parsed.usage)
        elif parsed.unknown:
            reply = (
                texts.text("unknown_command", actor_lang, command=parsed.unknown)
                + "\n\n"
                + texts.text("help", actor_lang)
            )
        else:
            reply = texts.text("help", actor_lang)
        message = notice(reply)
        ack(text=message.text, blocks=message.blocks, response_type="ephemeral")

    def run_command(self, command: dict[str, Any], respond: Respond | None) -> None:
        parsed = commands.parse(str(command.get("text") or ""))
        if parsed.verb is None:
            return  # help and usage were answered in the ack
        actor = self.identities.resolve(str(command["user_id"]))
        args: dict[str, JsonValue] = {**parsed.args, "channel": str(command.get("channel_id") or "")}
        if parsed.slack_user:
            args["assignee"] = self.identities.resolve(parsed.slack_user).identity
            args["assignee_slack"] = parsed.slack_user
        result = self._run(actor, parsed.verb, args)
        card = _card_of(result)
        if card is not None:
            rendered = render_card(card, lang=actor.lang)
            _respond(respond, text=rendered.text, blocks=rendered.blocks, response_type="ephemeral")
        else:
            message = notice(result.message or texts.text("done" if result.ok else "failed", actor.lang))
            _respond(respond, text=message.text, blocks=message.blocks, response_type="ephemeral")

    # -- helpers

    def _once(self, body: dict[str, Any], work: Callable[[], None]) -> None:
        event_id = body.get("event_id")
        if not event_id:
            work()
            return
        if not self.once.claim(str(event_id)):
            log.info("slack: event %s already handled, retry skipped", event_id)
            return
        try:
            work()
        except Exception:
            self.once.release(str(event_id))
            raise
        self.once.done(str(event_id))

    def _is_bot(self, message: dict[str, Any]) -> bool:
        return (
            bool(message.get("bot_id"))
            or message.get("subtype") == "bot_message"
            or (self.bot_user_id is not None and message.get("user") == self.bot_user_id)
        )

    @staticmethod
    def _button_verb(action: dict[str, Any]) -> str:
        return str(action["action_id"]).removeprefix(ACTION_PREFIX).split(":", 1)[0]

    @staticmethod
    def _location(body: dict[str, Any]) -> dict[str, JsonValue]:
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        message_ts = container.get("message_ts") or message.get("ts")
        location: dict[str, JsonValue] = {}
        if channel:
            location["channel"] = str(channel)
        if message_ts:
            location["message_ts"] = str(message_ts)
            location["thread_ts"] = str(message.get("thread_ts") or message_ts)
        if container.get("is_ephemeral"):
            location["ephemeral"] = True
        return location

    def _run(
        self, actor: Actor, verb: str, args: dict[str, JsonValue], *, raise_errors: bool = False
    ) -> CommandResult:
        command = StaffCommand(
            door="slack", actor=actor.identity, verb=verb, args={**args, "slack_user": actor.slack_user}
        )
        try:
            return self.dispatch(command)
        except Exception:
            if raise_errors:
                raise
            log.exception("slack: dispatch of %s failed", verb)
            return CommandResult(ok=False, message=texts.text("failed", actor.lang))

    def _show(
        self,
        result: CommandResult,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond | None,
        actor: Actor,
    ) -> None:
        """A returned card replaces the clicked one at once; the message goes to the clicker only."""
        location = self._location(body)
        card = _card_of(result)
        ephemeral = bool(location.get("ephemeral"))
        if card is not None:
            rendered = render_card(card, lang=actor.lang)
            try:
                if ephemeral:
                    _respond(respond, text=rendered.text, blocks=rendered.blocks, replace_original=True)
                elif location.get("channel") and location.get("message_ts"):
                    client.chat_update(
                        channel=str(location["channel"]),
                        ts=str(location["message_ts"]),
                        text=rendered.text,
                        blocks=rendered.blocks,
                    )
            except (SlackApiError, SlackClientError, OSError) as error:
                log.warning("slack: card update after %s failed: %s", "click", type(error).__name__)
        if result.message:
            if ephemeral or not location.get("channel"):
                _respond(
                    respond,
                    text=notice(result.message).text,
                    response_type="ephemeral",
                    replace_original=False,
                )
            else:
                self._ephemeral(
                    client,
                    str(location["channel"]),
                    actor,
                    result.message,
                    str(location.get("thread_ts") or "") or None,
                )

    def _after_submit(
        self, result: CommandResult, meta: dict[str, JsonValue], client: WebClient, actor: Actor
    ) -> None:
        card = _card_of(result)
        channel = str(meta.get("channel") or "")
        if card is not None and channel and meta.get("message_ts"):
            rendered = render_card(card, lang=actor.lang)
            try:
                client.chat_update(
                    channel=channel, ts=str(meta["message_ts"]), text=rendered.text, blocks=rendered.blocks
                )
            except (SlackApiError, SlackClientError, OSError) as error:
                log.warning("slack: card update after submit failed: %s", type(error).__name__)
        if result.message and channel:
            self._ephemeral(client, channel, actor, result.message, str(meta.get("thread_ts") or "") or None)

    @staticmethod
    def _ephemeral(
        client: WebClient, channel: str, actor: Actor, message: str, thread_ts: str | None
    ) -> None:
        if not message:
            return
        rendered = notice(message)
        kwargs: dict[str, Any] = {
            "channel": channel,
            "user": actor.slack_user,
            "text": rendered.text,
            "blocks": rendered.blocks,
        }
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            client.chat_postEphemeral(**kwargs)
        except (SlackApiError, SlackClientError, OSError) as error:
            # The command itself succeeded; a lost notice must not make Slack redeliver the event.
            log.warning("slack: ephemeral notice failed: %s", type(error).__name__)


def _respond(respond: Respond | None, **kwargs: Any) -> None:
    """Answer through the interaction's response_url (ephemeral messages cannot be chat.update'd)."""
    if respond is None:
        return
    try:
        respond(**kwargs)
    except (SlackClientError, OSError) as error:
        log.warning("slack: response_url answer failed: %s", type(error).__name__)


def _card_of(result: CommandResult) -> Card | None:
    raw = result.data.get("card")
    if not isinstance(raw, dict):
        return None
    try:
        return Card.model_validate(raw)
    except ValidationError:
        log.warning("slack: CommandResult.data['card'] is not a Card; ignored")
        return None


def build_app(
    *,
    client: WebClient,
    signing_secret: SecretStr,
    ingest: Ingest,
    dispatch: Dispatch,
    redis: Redis,
    staff: StaffLookup,
    bot_user_id: str | None = None,
    team_channels: Collection[str] = (),
    lang: str = "en",
    verify_token: bool = True,
) -> App:
    """The Bolt app for HTTP (`bot.platforms.slack.http.slack_router`) or Socket Mode.

    `client` comes from `build_web_client` (it holds the bot token and VIGIE_SLACK__API_URL).
    `team_channels` are the Slack ids of Vigie's team channels: their threads hold internal drafts
    and are never ingested. `bot_user_id` is looked up with auth.test when not given.
    """
    app = App(
        client=client,
        signing_secret=signing_secret.get_secret_value(),
        process_before_response=True,
        token_verification_enabled=verify_token,
        name="vigie",
    )
    if bot_user_id is None:
        bot_user_id = str(client.auth_test().get("user_id") or "") or None
    bridge = SlackBridge(
        ingest=ingest,
        dispatch=dispatch,
        redis=redis,
        identities=Identities(client, redis, staff, lang=lang),
        bot_user_id=bot_user_id,
        team_channels=team_channels,
    )
    register(app, bridge)
    return app


def register(app: App, bridge: SlackBridge) -> None:
    app.event("message")(bridge.on_message)  # every subtype: message_changed, thread_broadcast, …
    app.event("app_mention")(bridge.on_mention)
    app.event("reaction_added")(bridge.on_reaction)
    app.action(_pattern(MODAL_BUTTONS))(bridge.open_modal)
    app.action(_pattern(DIRECT_BUTTONS))(ack=bridge.ack_only, lazy=[bridge.on_button])
    app.view(re.compile("^(" + "|".join((modals.ASSIGN, modals.REPLY, modals.EDIT, modals.THREAD)) + ")$"))(
        bridge.on_submit
    )
    app.shortcut(SHORTCUT)(bridge.on_thread_shortcut)
    app.command(COMMAND)(ack=bridge.ack_command, lazy=[bridge.run_command])
    # Catch-alls, registered last: anything else Slack sends is acked, never answered with a 404.
    app.event(re.compile(".*"))(bridge.on_other_event)
    app.action(re.compile(".*"))(bridge.ack_only)
    app.view(re.compile(".*"))(bridge.ack_only)
    app.view_closed(re.compile(".*"))(bridge.ack_only)
    app.shortcut(re.compile(".*"))(bridge.ack_only)
    app.command(re.compile(".*"))(bridge.ack_only)
    app.options(re.compile(".*"))(bridge.ack_only)
