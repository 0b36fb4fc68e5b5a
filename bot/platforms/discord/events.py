"""Discord objects → Vigie `Event`s.

Pure functions of discord.py models and the config: no I/O, so the gateway and the tests share them.
A function returns None for traffic Vigie must not ingest: bots (itself included), guilds outside the
allow-list, team channels (thread text is internal), and empty messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import discord

from bot.events import Author, Event, JsonScalar
from bot.platforms.discord.config import DiscordConfig

SOURCE = "discord"
TEXT_LIMIT = 40_000


def vigie_roles(roles: Iterable[discord.Role], config: DiscordConfig) -> tuple[str, ...]:
    """Vigie role names for a member's Discord roles. Only configured roles map to `staff` and
    `moderator`; every role is also given as `discord:<id>` so rules can name any role without a Discord
    role *name* (which anyone with Manage Roles can choose) ever granting an exemption."""
    found: list[str] = []
    keys: set[str] = set()
    for role in roles:
        if role.is_default():
            continue
        keys.update({str(role.id), role.name.casefold()})
        found.append(f"discord:{role.id}")
    mapped = [
        name
        for name, configured in (("staff", config.staff_roles), ("moderator", config.moderator_roles))
        if any(str(item).casefold() in keys for item in configured)
    ]
    return tuple(mapped + found)


def author_of(user: discord.User | discord.Member, config: DiscordConfig) -> Author:
    roles = vigie_roles(user.roles, config) if isinstance(user, discord.Member) else ()
    return Author(
        id=str(user.id),
        name=(user.display_name or user.name)[:200],
        created_at=user.created_at,
        roles=roles,
    )


def _parent_id(channel: object) -> int | None:
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return None


def is_staff_location(channel: object, config: DiscordConfig) -> bool:
    channel_id = getattr(channel, "id", None)
    return channel_id in config.staff_channels or _parent_id(channel) in config.staff_channels


def conversation_of(message: discord.Message, config: DiscordConfig) -> tuple[str, str | None]:
    """(`dm` | `support` | `community`, thread id): one customer conversation per DM author, per
    Discord thread in a support channel, or per author in a support channel's main timeline."""
    channel = message.channel
    if message.guild is None:
        return "dm", f"dm:{message.author.id}"
    parent = _parent_id(channel)
    if parent is not None and parent in config.support_channels:
        return "support", f"thread:{channel.id}"
    if channel.id in config.support_channels:
        return "support", f"{channel.id}:{message.author.id}"
    return "community", None


def message_text(message: discord.Message) -> str:
    """Content plus attachment names: an image-only message still says something to the team."""
    parts = [message.content or ""]
    parts.extend(f"[{attachment.filename}]" for attachment in message.attachments)
    return "\n".join(part for part in parts if part)[:TEXT_LIMIT]


def message_to_event(
    message: discord.Message, config: DiscordConfig, *, edited: bool = False
) -> Event | None:
    if message.author.bot or message.webhook_id is not None:
        return None
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    guild_id = message.guild.id if message.guild else None
    if not config.guild_allowed(guild_id):
        return None
    if is_staff_location(message.channel, config):
        return None
    text = message_text(message)
    if not text.strip():
        return None
    conversation, thread_id = conversation_of(message, config)
    external_id = str(message.id)
    metadata: dict[str, JsonScalar] = {
        "message_id": str(message.id),
        "conversation": conversation,
        "channel_type": str(message.channel.type),
    }
    if guild_id is not None:
        metadata["guild_id"] = str(guild_id)
        metadata["guild_name"] = message.guild.name if message.guild else None
        metadata["channel_name"] = getattr(message.channel, "name", None)
    parent = _parent_id(message.channel)
    if parent is not None:
        metadata["parent_channel_id"] = str(parent)
    if edited:
        # Each edit is a new event so the rulebook re-checks the new text, while a replayed gateway
        # frame for the same edit maps onto the same stored event.
        stamp = message.edited_at or message.created_at
        external_id = f"{message.id}:edit:{int(stamp.timestamp() * 1000)}"
        metadata["edit_of"] = str(message.id)
    if message.reference and message.reference.message_id:
        metadata["reply_to_message_id"] = str(message.reference.message_id)
    return Event(
        source=SOURCE,
        kind="dm" if conversation == "dm" else "message",
        external_id=external_id,
        text=text,
        author=author_of(message.author, config),
        url=message.jump_url,
        created_at=message.edited_at if edited and message.edited_at else message.created_at,
        channel=str(message.channel.id),
        thread_id=thread_id,
        reply_to=None,
        metadata=metadata,
    )


def automod_to_event(execution: discord.AutoModAction, config: DiscordConfig) -> Event | None:
    """Native AutoMod already acted; the event lets the core record the action as a case. Discord
    sends one frame per executed action, so the action type is part of the id."""
    if not config.guild_allowed(execution.guild_id):
        return None
    anchor = execution.message_id or execution.alert_system_message_id
    if anchor is None:
        # A blocked message is never created, so nothing else identifies this execution.
        digest = hashlib.blake2b(execution.content.encode(), digest_size=6).hexdigest()
        anchor_text = f"c{digest}"
    else:
        anchor_text = str(anchor)
    action = execution.action
    external_id = ":".join(
        (
            "automod",
            str(execution.guild_id),
            str(execution.rule_id),
            str(execution.user_id),
            anchor_text,
            action.type.name,
        )
    )
    member = execution.member
    author = author_of(member, config) if member is not None else Author(id=str(execution.user_id))
    metadata: dict[str, JsonScalar] = {
        "automod": True,
        "automod_action": action.type.name,
        "automod_rule_id": str(execution.rule_id),
        "automod_trigger": execution.rule_trigger_type.name,
        "matched_keyword": execution.matched_keyword,
        "matched_content": execution.matched_content,
        "guild_id": str(execution.guild_id),
        "conversation": "community",
    }
    if execution.message_id:
        metadata["message_id"] = str(execution.message_id)
    if execution.alert_system_message_id:
        metadata["alert_message_id"] = str(execution.alert_system_message_id)
    if action.duration is not None:
        metadata["duration_seconds"] = int(action.duration.total_seconds())
    if action.custom_message:
        metadata["custom_message"] = action.custom_message
    return Event(
        source=SOURCE,
        kind="message",
        external_id=external_id,
        text=(execution.content or execution.matched_content or "")[:TEXT_LIMIT],
        author=author,
        channel=str(execution.channel_id) if execution.channel_id else None,
        metadata=metadata,
    )
