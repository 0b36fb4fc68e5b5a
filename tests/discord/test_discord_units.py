"""Pure pieces of the Discord adapter: cards, custom_ids, texts, config, intents, import rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from bot.platforms.discord import texts
from bot.platforms.discord.commands import FRENCH
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.embeds import (
    BUTTON_ACTIONS,
    button_command,
    card_components,
    card_embed,
    custom_id,
    parse_custom_id,
)
from bot.platforms.discord.gateway import build_intents
from bot.platforms.discord.views import submitted_values
from bot.ports import Button, Card

ROOT = Path(__file__).resolve().parents[2]


def test_custom_ids_round_trip_for_every_button_action() -> None:
    for action in BUTTON_ACTIONS:
        parsed = parse_custom_id(custom_id(action, "case-1:x"))
        assert parsed == (action, "case-1:x")
        command = button_command(*parsed, actor="42")
        assert command is not None and command.verb == action and command.door == "discord"
    assert button_command("approve", "d1", actor="1") is not None
    assert button_command("approve", "d1", actor="1").args == {"draft_id": "d1"}  # type: ignore[union-attr]
    assert parse_custom_id("other:approve:1") is None
    assert parse_custom_id("vigie:approve") is None
    assert button_command("drop-table", "1", actor="1") is None
    with pytest.raises(ValueError):
        custom_id("approve", "x" * 100)


def test_card_embed_respects_discord_limits() -> None:
    card = Card(
        title="t" * 300,
        text="x" * 7000,
        fields=tuple((f"f{n}", "v" * 2000) for n in range(30)),
        labels=("toxic",),
        severity="warning",
        footer="f" * 3000,
        buttons=tuple(Button(action="take", value=str(n), label="Take") for n in range(12)),
    )
    embed = card_embed(card)
    assert len(embed.title or "") == 256 and embed.fields[0].name == "Labels"
    assert all(len(field.value or "") <= 1024 for field in embed.fields)
    assert len(embed) <= 6000
    rows = card_components(card)
    assert [len(row["components"]) for row in rows] == [5, 5, 2]
    assert card_embed(Card(title="x", labels=("a",)), "fr").fields[0].name == "Étiquettes"


def test_every_text_exists_in_french_and_english() -> None:
    for key, entry in texts.TEXTS.items():
        assert set(entry) == {"en", "fr"}, key
    assert texts.text("done", "de") == "Done."
    assert (
        texts.lang_of("fr") == "fr" and texts.lang_of("en-GB") == "en" and texts.lang_of("ja", "fr") == "fr"
    )
    assert "Show a case" in FRENCH


def test_config_from_lead_settings_and_workspace() -> None:
    class DiscordSettings(BaseModel):  # the shape of bot.settings.DiscordSettings
        token: SecretStr | None = None
        guilds: list[int] = []
        api_url: str | None = None
        gateway_url: str | None = None
        shard_count: int | None = None

    class Target(BaseModel):
        discord: str | None = None

    class Workspace(BaseModel):
        language: str = "fr"
        channels: dict[str, Target] = {}

    config = DiscordConfig.build(
        DiscordSettings(token=SecretStr("secret-token-xyz"), guilds=[1], shard_count=2),
        workspace=Workspace(channels={"inbox": Target(discord="123"), "crisis": Target()}),
        moderator_roles="Mods, 55",
    )
    assert config.guilds == (1,) and config.shard_count == 2 and config.lang == "fr"
    assert config.channels == {"inbox": 123} and config.staff_channels == (123,)
    assert config.moderator_roles == ("Mods", "55")
    assert config.resolve_channel("inbox") == 123 and config.resolve_channel("77") == 77
    assert "secret-token-xyz" not in repr(config)
    assert config.guild_allowed(1) and not config.guild_allowed(2) and config.guild_allowed(None)
    assert "kick" not in DiscordConfig().allowed_actions


def test_intents() -> None:
    intents = build_intents()
    assert intents.message_content and intents.members and intents.auto_moderation_execution
    assert intents.dm_messages and intents.guild_messages and not intents.presences


def test_modal_values_from_rows_and_labels() -> None:
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": "text", "value": "a"}]}]
    labels = [{"type": 18, "component": {"type": 4, "custom_id": "note", "value": "b"}}]
    assert submitted_values(rows + labels) == {"text": "a", "note": "b"}


def test_only_allowed_modules_import_platform_libraries() -> None:
    forbidden = {"discord", "redis", "rq", "sqlalchemy", "slack", "slack_sdk", "slack_bolt"}
    for path in (ROOT / "bot" / "platforms" / "discord").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    assert name.split(".")[0] not in forbidden - {"discord", "redis"}, (path, name)
