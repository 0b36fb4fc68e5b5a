"""`Card` → Discord embed + button rows, and button custom_ids back to `StaffCommand`s.

A button's custom_id is `vigie:<action>:<value>`. It carries everything needed to act, so a click is
understood by any gateway process, before or after a restart, with no view kept in memory.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.events import JsonValue
from bot.platforms.discord import texts
from bot.ports import Button, ButtonAction, Card, StaffCommand

PREFIX = "vigie"
CUSTOM_ID_LIMIT = 100
BUTTONS_PER_ROW = 5
MAX_ROWS = 5

SEVERITY_COLOURS: dict[str, int] = {
    "info": 0x5865F2,
    "good": 0x57F287,
    "warning": 0xFEE75C,
    "danger": 0xED4245,
}
_STYLES = {
    "default": discord.ButtonStyle.secondary,
    "primary": discord.ButtonStyle.primary,
    "danger": discord.ButtonStyle.danger,
}

# What a button's value names, per action: the core receives it under this key.
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
BUTTON_ACTIONS: frozenset[str] = frozenset(VALUE_KEYS)

# Discord's embed limits (characters).
TITLE, DESCRIPTION, FIELDS, FIELD_NAME, FIELD_VALUE, FOOTER, TOTAL = 256, 4096, 25, 256, 1024, 2048, 6000


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def custom_id(action: str, value: str) -> str:
    ident = f"{PREFIX}:{action}:{value}"
    if len(ident) > CUSTOM_ID_LIMIT:
        raise ValueError(f"custom_id longer than {CUSTOM_ID_LIMIT} characters: {ident[:40]}…")
    return ident


def parse_custom_id(ident: str) -> tuple[str, str] | None:
    """(`action`, `value`) of a Vigie component, or None for anything else."""
    prefix, sep, rest = ident.partition(":")
    if prefix != PREFIX or not sep:
        return None
    action, sep, value = rest.partition(":")
    if not sep or not action or not value:
        return None
    return action, value


def card_embed(card: Card, lang: str = "en") -> discord.Embed:
    """Within Discord's limits, or it answers 400 and the card is lost: the title and footer first,
    then the text (leaving room for fields), then the fields that still fit."""
    title = clip(card.title, TITLE)
    footer = clip(card.footer, FOOTER)
    budget = TOTAL - len(title) - len(footer)
    description = clip(card.text, min(DESCRIPTION, max(1, budget - 1500)))
    budget -= len(description)
    embed = discord.Embed(
        title=title or None,
        description=description or None,
        url=card.url or None,
        colour=SEVERITY_COLOURS.get(card.severity, SEVERITY_COLOURS["info"]),
    )
    fields = list(card.fields)
    if card.labels:
        fields.insert(0, (texts.text("labels", lang), " ".join(f"`{label}`" for label in card.labels)))
    for name, value in fields[:FIELDS]:
        name = clip(name, FIELD_NAME) or "\u200b"
        value = clip(value, min(FIELD_VALUE, budget - len(name))) if budget - len(name) > 1 else ""
        if not value:
            break
        budget -= len(name) + len(value)
        embed.add_field(name=name, value=value, inline=len(value) < 40)
    if footer:
        embed.set_footer(text=footer)
    return embed


def button_component(button: Button) -> dict[str, Any]:
    return {
        "type": 2,
        "style": _STYLES[button.style].value,
        "label": clip(button.label, 80),
        "custom_id": custom_id(button.action, button.value),
    }


def card_components(card: Card) -> list[dict[str, Any]]:
    """Buttons in action rows, as raw component payloads: the worker side has no event loop to build
    `discord.ui.View`s, and the gateway needs no view to understand a click."""
    buttons = [button_component(button) for button in card.buttons][: BUTTONS_PER_ROW * MAX_ROWS]
    return [
        {"type": 1, "components": buttons[start : start + BUTTONS_PER_ROW]}
        for start in range(0, len(buttons), BUTTONS_PER_ROW)
    ]


def button_command(
    action: str, value: str, *, actor: str, extra: dict[str, JsonValue] | None = None
) -> StaffCommand | None:
    """The StaffCommand for a click on a Vigie button, or None for an unknown action."""
    if action not in BUTTON_ACTIONS:
        return None
    args: dict[str, JsonValue] = {VALUE_KEYS[action]: value}
    args.update(extra or {})
    return StaffCommand(door="discord", actor=actor, verb=action, args=args)


def is_button_action(action: str) -> bool:
    return action in BUTTON_ACTIONS


__all__ = [
    "BUTTON_ACTIONS",
    "ButtonAction",
    "button_command",
    "card_components",
    "card_embed",
    "clip",
    "custom_id",
    "parse_custom_id",
]
