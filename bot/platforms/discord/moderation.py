"""Moderation actions carried out on Discord, each with an audit-log reason and a mod-log entry.

Case numbers and warning points are the core's (stored in SQL); they arrive in the action's params
(`case`, `points`, `total_points`) and are only displayed here. Every step is safe to repeat: deleting
a deleted message or kicking a member who left counts as done, and messages carry a nonce derived from
the effect's idempotency key, so a retried effect neither fails nor posts twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import discord

from bot.durations import format_duration, parse_duration
from bot.events import Action, Event
from bot.platforms.discord import texts
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.embeds import SEVERITY_COLOURS, clip
from bot.platforms.discord.rest import DiscordRest, describe, message_params, nonce_for
from bot.ports import PermanentFailure

log = logging.getLogger("vigie.discord.moderation")

MAX_TIMEOUT = timedelta(days=28)  # Discord refuses longer communication timeouts
REASON_LIMIT = 512
SANCTIONS = ("timeout", "kick", "ban")
DM_CLOSED = 50007  # "Cannot send messages to this user"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Moderator:
    def __init__(self, rest: DiscordRest, config: DiscordConfig) -> None:
        self.rest = rest
        self.config = config

    def apply(self, event: Event, action: Action, *, reason: str, idempotency_key: str) -> None:
        verb = action.type
        if verb not in ("delete", "hide", "warn", "timeout", "kick", "ban"):
            raise PermanentFailure(f"{verb} is not a Discord moderation action")
        if verb not in self.config.allowed_actions:
            raise PermanentFailure(f"{verb} is not allowed by the Discord configuration (allowed_actions)")
        if verb in SANCTIONS and set(event.author.roles) & set(self.config.exempt_roles):
            raise PermanentFailure(f"{verb} refused: the member has an exempt role")
        lang = str(action.params.get("lang") or self.config.lang)
        reason = clip(reason or action.rule, REASON_LIMIT)
        guild_id = _int(event.metadata.get("guild_id"))
        user_id = int(event.author.id)
        detail = ""
        if verb in ("delete", "hide"):
            self._delete(event, reason)
        elif verb == "warn":
            self._warn(event, action, lang=lang, idempotency_key=idempotency_key, guild_id=guild_id)
        else:
            if guild_id is None:
                raise PermanentFailure(f"{verb} needs a server: this event has no guild")
            if verb == "timeout":
                detail = self._timeout(guild_id, user_id, action, reason)
            elif verb == "kick":
                self._ignore_missing(lambda http: http.kick(user_id, guild_id, reason=reason))
            else:
                seconds = _int(action.params.get("delete_message_seconds")) or 0
                self.rest.call(lambda http: http.ban(user_id, guild_id, min(seconds, 604800), reason=reason))
        self._mod_log(event, action, reason=reason, lang=lang, detail=detail, idempotency_key=idempotency_key)

    def _ignore_missing(self, call: Any) -> None:
        try:
            self.rest.call_raw(call)
        except discord.NotFound:
            log.info("target already gone; counted as done")
        except discord.HTTPException as error:
            raise PermanentFailure(describe(error)) from None

    def _delete(self, event: Event, reason: str) -> None:
        message_id = _int(event.metadata.get("message_id"))
        if event.kind == "dm":
            raise PermanentFailure("a bot cannot delete a member's direct message")
        if message_id is None or event.channel is None:
            raise PermanentFailure("this event names no Discord message to delete")
        channel_id = int(event.channel)
        self._ignore_missing(lambda http: http.delete_message(channel_id, message_id, reason=reason))

    def _timeout(self, guild_id: int, user_id: int, action: Action, reason: str) -> str:
        raw = action.params.get("seconds", action.params.get("duration", "10m"))
        try:
            length = parse_duration(raw if isinstance(raw, str | int | float) else "10m")
        except ValueError as error:
            raise PermanentFailure(str(error)) from None
        length = min(length, MAX_TIMEOUT)
        until = (datetime.now(UTC) + length).isoformat()
        self.rest.call(
            lambda http: http.edit_member(
                guild_id, user_id, reason=reason, communication_disabled_until=until
            )
        )
        return format_duration(length)

    def _warn(
        self, event: Event, action: Action, *, lang: str, idempotency_key: str, guild_id: int | None
    ) -> None:
        message = str(action.params.get("message") or texts.text("warn_default", lang))
        points = action.params.get("points")
        if points is not None:
            total = action.params.get("total_points", points)
            message = f"{message} {texts.text('warn_points', lang, points=points, total=total)}"
        guild = str(action.params.get("guild_name") or event.metadata.get("guild_name") or "Discord")
        user_id = int(event.author.id)
        if self.config.warn_via in ("dm", "dm_then_channel"):
            body = texts.text("warn_dm", lang, guild=guild, message=message)
            try:
                self.send_dm(user_id, body, nonce=nonce_for(idempotency_key + ":warn"))
                return
            except discord.Forbidden as error:
                if self.config.warn_via == "dm" or error.code != DM_CLOSED:
                    raise PermanentFailure(describe(error)) from None
            except discord.HTTPException as error:
                raise PermanentFailure(describe(error)) from None
        if event.channel is None or guild_id is None:
            raise PermanentFailure("cannot warn in a channel: the event has no server channel")
        body = texts.text("warn_channel", lang, mention=f"<@{user_id}>", message=message)
        channel_id = int(event.channel)
        params = message_params(
            body, nonce=nonce_for(idempotency_key + ":warn-channel"), mention_users=(str(user_id),)
        )
        self.rest.call(lambda http: http.send_message(channel_id, params=params))

    def send_dm(self, user_id: int, content: str, *, nonce: str) -> str:
        """Open (or reuse) the DM channel and send; HTTP errors reach the caller."""

        async def send(http: Any) -> str:
            channel = await http.start_private_message(user_id)
            message = await http.send_message(int(channel["id"]), params=message_params(content, nonce=nonce))
            return str(message["id"])

        result: str = self.rest.call_raw(send)
        return result

    def _mod_log(
        self, event: Event, action: Action, *, reason: str, lang: str, detail: str, idempotency_key: str
    ) -> None:
        channel_id = self.config.mod_log_channel
        if channel_id is None:
            return
        verb = action.type
        case = action.params.get("case")
        label = texts.text(f"action_{verb}", lang)
        title = (
            texts.text("modlog_title", lang, case=f"#{case}", action=label)
            if case is not None
            else texts.text("modlog_title_nocase", lang, action=label)
        )
        colour = SEVERITY_COLOURS["warning" if verb in ("delete", "hide", "warn") else "danger"]
        embed = discord.Embed(title=title, colour=colour, url=event.url or None)
        name = event.author.name or event.author.id
        embed.add_field(
            name=texts.text("modlog_member", lang), value=f"<@{event.author.id}> ({clip(name, 100)})"
        )
        if event.channel:
            embed.add_field(name=texts.text("modlog_channel", lang), value=f"<#{event.channel}>")
        embed.add_field(name=texts.text("modlog_reason", lang), value=clip(reason, 1024), inline=False)
        embed.add_field(name=texts.text("modlog_rule", lang), value=clip(action.rule, 256))
        if detail:
            embed.add_field(name=texts.text("modlog_duration", lang), value=detail)
        if action.params.get("points") is not None:
            embed.add_field(
                name=texts.text("modlog_points", lang),
                value=f"{action.params['points']} / {action.params.get('total_points', '?')}",
            )
        if verb == "hide":
            # The copy is what "hide" keeps: the team can still read what was removed.
            embed.description = f"**{texts.text('modlog_copy', lang)}**\n>>> {clip(event.text, 3900)}"
        elif event.text:
            embed.add_field(
                name=texts.text("modlog_excerpt", lang), value=clip(event.text, 300), inline=False
            )
        embed.set_footer(text=f"{event.author.id} · {event.external_id}")
        params = message_params(embed=embed, nonce=nonce_for(idempotency_key + ":modlog"))
        self.rest.call(lambda http: http.send_message(channel_id, params=params))
