"""Socket Mode runs the same app: envelopes (retries included) go through the same listeners."""

from __future__ import annotations

import copy

from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.platforms.slack import socket_mode_handler
from tests.slack.slack_doubles import CUSTOMER, CUSTOMER_CHANNEL, RecordingIngest
from tests.slack.slack_payloads import channel_message, fixture


def envelope(retry_attempt: int) -> SocketModeRequest:
    raw = copy.deepcopy(fixture("socket_mode/envelope_events_api.bolt.json"))
    raw["payload"]["event"] = channel_message(
        channel=CUSTOMER_CHANNEL, user=CUSTOMER, text="Bonjour ?", ts="1700000700.000700"
    )
    raw["retry_attempt"] = retry_attempt
    request = SocketModeRequest.from_dict(raw)
    assert request is not None
    return request


def test_socket_mode_envelopes_are_ingested_once(slack_app: App, ingest: RecordingIngest) -> None:
    first = run_bolt_app(slack_app, envelope(0))
    retry = run_bolt_app(slack_app, envelope(1))
    assert (first.status, retry.status) == (200, 200)
    assert ingest.calls == 1 and ingest.events[0].text == "Bonjour ?"


def test_socket_mode_handler_uses_the_apps_client(slack_app: App) -> None:
    handler = socket_mode_handler(slack_app, SecretStr("xapp-1-test"))
    assert handler.client.web_client.base_url == slack_app.client.base_url
    assert handler.app_token == "xapp-1-test"
