"""Signed Slack requests built from the real payloads in ../shared/fixtures/slack/."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from slack_sdk.signature import SignatureVerifier

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "slack"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8").strip()


def signature_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


class SignedPoster:
    """Posts bodies to the app the way Slack does: raw body, signed, right content type."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def post(
        self,
        body: str,
        *,
        content_type: str,
        path: str = "/slack/events",
        headers: dict[str, str] | None = None,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> httpx.Response:
        all_headers = {
            "Content-Type": content_type,
            **signature_headers(body, secret=secret, timestamp=timestamp),
        }
        all_headers.update(headers or {})
        return self.client.post(path, content=body.encode(), headers=all_headers)

    def event(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.post(json.dumps(payload), content_type="application/json", **kwargs)

    def interaction(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        body = "payload=" + quote(json.dumps(payload))
        return self.post(body, content_type="application/x-www-form-urlencoded", **kwargs)

    def command(self, form: str, **kwargs: Any) -> httpx.Response:
        return self.post(form, content_type="application/x-www-form-urlencoded", **kwargs)


def event_callback(
    event: dict[str, Any], *, event_id: str, template: str = "events/message_changed.bolt.json"
) -> dict[str, Any]:
    """A real envelope (with authorizations) around `event`."""
    body = fixture(template)
    body["event"] = event
    body["event_id"] = event_id
    return body


def channel_message(
    *,
    channel: str,
    user: str,
    text: str,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    subtype: str | None = None,
) -> dict[str, Any]:
    """The thread-reply fixture's inner event moved to a channel (the same shape, per the fixtures' notes)."""
    event: dict[str, Any] = copy.deepcopy(fixture("events/message_thread_reply_im.bolt.json")["event"])
    event.update(
        {"channel": channel, "channel_type": "channel", "user": user, "text": text, "ts": ts, "event_ts": ts}
    )
    if thread_ts is None:
        event.pop("thread_ts", None)
        event.pop("parent_user_id", None)
    else:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = parent_user_id or user
    if subtype:
        event["subtype"] = subtype
    return event


def block_action(
    *,
    action_id: str,
    value: str,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    ephemeral: bool = False,
) -> dict[str, Any]:
    payload = fixture("interactivity/block_actions_button_in_channel_message.bolt.json")
    payload["user"] = {"id": user}
    payload["container"].update({"channel_id": channel, "message_ts": message_ts, "is_ephemeral": ephemeral})
    payload["channel"] = {"id": channel}
    payload["message"]["ts"] = message_ts
    if thread_ts:
        payload["message"]["thread_ts"] = thread_ts
    if blocks is not None:
        payload["message"]["blocks"] = blocks
    payload["response_url"] = response_url
    payload["actions"][0].update({"action_id": action_id, "value": value, "block_id": "vigie_actions"})
    return payload


def view_submission(
    *, callback_id: str, user: str, private_metadata: str, values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    payload = fixture("interactivity/view_submission.bolt.json")
    payload["user"]["id"] = user
    payload["view"].update(
        {
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": {block: {"value": value} for block, value in values.items()}},
        }
    )
    return payload


def slash_command(text: str, *, user: str, channel: str, response_url: str) -> str:
    """The real form body with the Vigie command, text, user, channel and response URL swapped in."""
    fields = dict(
        pair.split("=", 1) for pair in fixture_text("commands/slash_command.bolt.form.txt").split("&")
    )
    fields.update(
        {
            "command": quote("/vigie", safe=""),
            "text": quote(text, safe=""),
            "user_id": user,
            "channel_id": channel,
            "response_url": quote(response_url, safe=""),
        }
    )
    return "&".join(f"{key}={value}" for key, value in fields.items())
