"""Staff interactions on Discord: button clicks, modals, the assignee picker and thread replies, all
turned into `StaffCommand`s and run through `Dispatch`.

Nothing here lives in memory between clicks: every component's custom_id says what it acts on
(`vigie:approve:<draft_id>`), so buttons keep working across restarts and on every gateway process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import discord

from bot.events import JsonValue
from bot.platforms.discord import texts
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.embeds import button_command, clip, custom_id, is_button_action, parse_custom_id
from bot.platforms.discord.events import vigie_roles
from bot.ports import CommandResult, Dispatch, StaffCommand

log = logging.getLogger("vigie.discord.interactions")

DISPATCH_TIMEOUT = 60.0  # the interaction token lives 15 min; a stuck core must not hold it that long
TEXT_INPUT_LIMIT = 4000
EDIT_SUBMIT = "edit-submit"
REPLY_SUBMIT = "reply-submit"
ASSIGN_TO = "assign-to"


class DraftModal(discord.ui.Modal):
    """One paragraph field; the submission is read back from the raw payload by `StaffActions`."""

    def __init__(self, *, title: str, ident: str, label: str, default: str | None) -> None:
        super().__init__(title=clip(title, 45), custom_id=ident, timeout=None)
        self.add_item(
            discord.ui.TextInput(
                label=clip(label, 45),
                style=discord.TextStyle.paragraph,
                custom_id="text",
                default=clip(default, TEXT_INPUT_LIMIT) if default else None,
                max_length=TEXT_INPUT_LIMIT,
            )
        )


def submitted_values(components: Iterable[Any]) -> dict[str, str]:
    """custom_id → value of every input in a modal submission (action rows or labels, nested)."""
    found: dict[str, str] = {}
    for component in components:
        if not isinstance(component, dict):
            continue
        if "custom_id" in component and "value" in component:
            found[str(component["custom_id"])] = str(component["value"])
        found.update(submitted_values(component.get("components", [])))
        if isinstance(component.get("component"), dict):
            found.update(submitted_values([component["component"]]))
    return found


class StaffActions:
    """Runs staff commands for the gateway. `dispatch` is synchronous and may do SQL: it runs in a
    worker thread so the gateway's heartbeats never wait on it."""

    def __init__(self, config: DiscordConfig, dispatch: Dispatch) -> None:
        self.config = config
        self.dispatch = dispatch

    def lang_for(self, interaction: discord.Interaction[Any]) -> str:
        return texts.lang_of(interaction.locale, self.config.lang)

    def roles_of(self, user: discord.User | discord.Member) -> tuple[str, ...]:
        return vigie_roles(user.roles, self.config) if isinstance(user, discord.Member) else ()

    def allowed(self, user: discord.User | discord.Member, need: str) -> bool:
        """`member`: anyone; `moderator`: a moderator role; `staff`: a staff or moderator role. With no
        role configured for a level, the core's own check (staff in vigie.yaml) is the only gate."""
        if need == "member":
            return True
        roles = set(self.roles_of(user))
        if need == "moderator":
            return "moderator" in roles if self.config.moderator_roles else True
        if not (self.config.staff_roles or self.config.moderator_roles):
            return True
        return bool(roles & {"staff", "moderator"})

    async def run(self, command: StaffCommand) -> CommandResult:
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.dispatch, command), DISPATCH_TIMEOUT)
        except TimeoutError:
            log.error("dispatch of %s timed out", command.verb)
            return CommandResult(
                ok=False, message=texts.text("unavailable", str(command.args.get("lang", "en")))
            )
        except Exception as error:
            log.exception("dispatch of %s failed", command.verb)
            lang = str(command.args.get("lang", "en"))
            return CommandResult(ok=False, message=texts.text("failed", lang, error=type(error).__name__))

    def context(self, interaction: discord.Interaction[Any]) -> dict[str, JsonValue]:
        args: dict[str, JsonValue] = {
            "lang": self.lang_for(interaction),
            "roles": list(self.roles_of(interaction.user)),
        }
        if interaction.guild_id:
            args["guild_id"] = str(interaction.guild_id)
        if interaction.channel_id:
            args["channel"] = str(interaction.channel_id)
        return args

    async def answer(self, interaction: discord.Interaction[Any], command: StaffCommand) -> CommandResult:
        """Defer first (Discord's 3-second rule), run, then show the result privately."""
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.run(command)
        text = result.message or texts.text("done", self.lang_for(interaction))
        await interaction.followup.send(clip(text, 2000), ephemeral=True)
        return result

    async def deny(self, interaction: discord.Interaction[Any], key: str = "no_permission") -> None:
        await interaction.response.send_message(texts.text(key, self.lang_for(interaction)), ephemeral=True)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Components and modals with a Vigie custom_id; slash commands go through the CommandTree."""
        data: Any = interaction.data or {}
        parsed = parse_custom_id(str(data.get("custom_id", "")))
        if parsed is None:
            return
        action, value = parsed
        if interaction.type == discord.InteractionType.component:
            await self.on_component(interaction, action, value, data)
        elif interaction.type == discord.InteractionType.modal_submit:
            await self.on_modal(interaction, action, value, data)

    async def on_component(
        self, interaction: discord.Interaction[Any], action: str, value: str, data: Any
    ) -> None:
        if not self.allowed(interaction.user, "staff"):
            await self.deny(interaction)
            return
        lang = self.lang_for(interaction)
        actor = str(interaction.user.id)
        extra = self.context(interaction)
        if interaction.message is not None:
            extra["card_message_id"] = str(interaction.message.id)
            extra["card_channel"] = str(interaction.message.channel.id)
        if action == "edit":
            # The draft card shows the draft as its description: it pre-fills the modal, so opening it
            # needs no round trip to the core (a modal must be the first answer, within 3 s).
            current = None
            if interaction.message is not None and interaction.message.embeds:
                current = interaction.message.embeds[0].description
            await interaction.response.send_modal(
                DraftModal(
                    title=texts.text("modal_edit_title", lang),
                    ident=custom_id(EDIT_SUBMIT, value),
                    label=texts.text("modal_text_label", lang),
                    default=current,
                )
            )
        elif action == "reply":
            await interaction.response.send_modal(
                DraftModal(
                    title=texts.text("modal_reply_title", lang),
                    ident=custom_id(REPLY_SUBMIT, value),
                    label=texts.text("modal_text_label", lang),
                    default=None,
                )
            )
        elif action == "assign":
            view = discord.ui.View(timeout=None)
            view.add_item(
                discord.ui.UserSelect(
                    custom_id=custom_id(ASSIGN_TO, value), placeholder=texts.text("assign_placeholder", lang)
                )
            )
            await interaction.response.send_message(
                texts.text("assign_prompt", lang, case=value), view=view, ephemeral=True
            )
        elif action == ASSIGN_TO:
            values = data.get("values") or []
            if not values:
                return
            extra["assignee"] = str(values[0])
            await self.answer(
                interaction,
                StaffCommand(door="discord", actor=actor, verb="assign", args={"case_id": value, **extra}),
            )
        elif is_button_action(action):
            command = button_command(action, value, actor=actor, extra=extra)
            if command is not None:
                await self.answer(interaction, command)

    async def on_modal(
        self, interaction: discord.Interaction[Any], action: str, value: str, data: Any
    ) -> None:
        if not self.allowed(interaction.user, "staff"):
            await self.deny(interaction)
            return
        text = submitted_values(data.get("components", [])).get("text", "").strip()
        extra = self.context(interaction)
        actor = str(interaction.user.id)
        if action == EDIT_SUBMIT:
            command = StaffCommand(
                door="discord", actor=actor, verb="edit", args={"draft_id": value, "text": text, **extra}
            )
        elif action == REPLY_SUBMIT:
            command = StaffCommand(
                door="discord", actor=actor, verb="draft", args={"case_id": value, "text": text, **extra}
            )
        else:
            return
        await self.answer(interaction, command)

    async def on_thread_reply(self, message: discord.Message) -> CommandResult | None:
        """A staff message in a card's thread is a draft for the customer, never sent as is."""
        channel = message.channel
        if not isinstance(channel, discord.Thread) or not message.content.strip():
            return None
        args: dict[str, JsonValue] = {
            "thread_id": str(channel.id),
            "channel": str(channel.parent_id),
            "message_id": str(message.id),
            "text": message.content,
            "lang": self.config.lang,
            "roles": list(self.roles_of(message.author)),
        }
        if message.guild is not None:
            args["guild_id"] = str(message.guild.id)
        result = await self.run(
            StaffCommand(door="discord", actor=str(message.author.id), verb="draft", args=args)
        )
        if result.message:
            try:
                await message.reply(
                    clip(result.message, 2000),
                    mention_author=False,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.HTTPException:
                log.warning("could not answer a thread reply", exc_info=True)
        return result
