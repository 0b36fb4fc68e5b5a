"""The manifest users paste must match what the app listens to."""

from __future__ import annotations

from pathlib import Path

import yaml

import bot.platforms.slack as slack_package
from bot.platforms.slack.app import COMMAND, SHORTCUT

MANIFEST = Path(slack_package.__file__).with_name("manifest.yaml")


def test_manifest_names_what_the_app_handles() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    [command] = features["slash_commands"]
    assert command["command"] == COMMAND and command["should_escape"] is True  # mentions arrive as <@U…>
    assert [s["callback_id"] for s in features["shortcuts"]] == [SHORTCUT]
    # message.* subscriptions all arrive as `message` events, which have a listener for every subtype.
    events = {name.split(".")[0] for name in settings["event_subscriptions"]["bot_events"]}
    assert events == {"message", "app_mention", "reaction_added"}
    assert settings["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "users:read", "users:read.email", "reactions:read"} <= scopes
    urls = {
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert urls == {"https://vigie.example.com/slack/events"}
