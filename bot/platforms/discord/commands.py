"""Slash commands: `/vigie case|assign|take|resolve|report|rules-test|crisis-ack` for staff, and
`/warn`, `/timeout`, `/case`, `/history` for moderators, `/appeal` for any member.

Each command checks the caller's Discord roles, defers, and runs one `StaffCommand` through Dispatch;
the core checks again (staff in vigie.yaml), so a role misconfiguration here cannot grant anything.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _

from bot.durations import parse_duration
from bot.events import JsonValue
from bot.platforms.discord import texts
from bot.platforms.discord.views import StaffActions
from bot.ports import StaffCommand

# French descriptions, keyed by the English text (the `locale_str` message).
FRENCH: dict[str, str] = {
    "Vigie: cases, reports and rules": "Vigie : dossiers, rapports et règles",
    "Show a case": "Afficher un dossier",
    "Assign a case to a team member": "Attribuer un dossier à un membre de l'équipe",
    "Take a case for yourself": "Prendre un dossier pour vous",
    "Resolve a case": "Clore un dossier",
    "Show the activity report": "Afficher le rapport d'activité",
    "Test the rulebook on a text": "Tester les règles sur un texte",
    "Acknowledge a crisis alert": "Accuser réception d'une alerte de crise",
    "Warn a member": "Avertir un membre",
    "Time a member out": "Exclure temporairement un membre",
    "Show a moderation case": "Afficher un dossier de modération",
    "A member's moderation history": "Historique de modération d'un membre",
    "Contest a sanction": "Contester une sanction",
    "Case id": "Identifiant du dossier",
    "Team member": "Membre de l'équipe",
    "Resolution note": "Note de clôture",
    "Period, e.g. 7d": "Période, par ex. 7d",
    "Text to test": "Texte à tester",
    "Incident id (latest when empty)": "Identifiant de l'incident (le dernier si vide)",
    "Member": "Membre",
    "Reason": "Raison",
    "Warning points": "Points d'avertissement",
    "Duration, e.g. 10m, 1h, 1d": "Durée, par ex. 10m, 1h, 1d",
    "Case number": "Numéro du dossier",
    "Why the sanction should be lifted": "Pourquoi la sanction devrait être levée",
}


class VigieTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is discord.Locale.french:
            return FRENCH.get(string.message)
        return None


def build_tree(client: discord.Client, actions: StaffActions) -> app_commands.CommandTree[discord.Client]:
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    async def run(
        interaction: discord.Interaction[Any], need: str, verb: str, args: dict[str, JsonValue]
    ) -> None:
        if interaction.guild_id is None:
            await actions.deny(interaction, "guild_only")
            return
        if not actions.allowed(interaction.user, need):
            await actions.deny(interaction)
            return
        merged = {**actions.context(interaction), **{k: v for k, v in args.items() if v is not None}}
        await actions.answer(
            interaction, StaffCommand(door="discord", actor=str(interaction.user.id), verb=verb, args=merged)
        )

    vigie = app_commands.Group(
        name="vigie", description=_("Vigie: cases, reports and rules"), guild_only=True
    )

    @vigie.command(name="case", description=_("Show a case"))
    @app_commands.describe(case=_("Case id"))
    async def case(interaction: discord.Interaction[Any], case: str) -> None:
        await run(interaction, "staff", "case", {"case_id": case})

    @vigie.command(name="assign", description=_("Assign a case to a team member"))
    @app_commands.describe(case=_("Case id"), member=_("Team member"))
    async def assign(interaction: discord.Interaction[Any], case: str, member: discord.Member) -> None:
        await run(interaction, "staff", "assign", {"case_id": case, "assignee": str(member.id)})

    @vigie.command(name="take", description=_("Take a case for yourself"))
    @app_commands.describe(case=_("Case id"))
    async def take(interaction: discord.Interaction[Any], case: str) -> None:
        await run(interaction, "staff", "take", {"case_id": case})

    @vigie.command(name="resolve", description=_("Resolve a case"))
    @app_commands.describe(case=_("Case id"), note=_("Resolution note"))
    async def resolve(interaction: discord.Interaction[Any], case: str, note: str | None = None) -> None:
        await run(interaction, "staff", "resolve", {"case_id": case, "note": note})

    @vigie.command(name="report", description=_("Show the activity report"))
    @app_commands.describe(period=_("Period, e.g. 7d"))
    async def report(interaction: discord.Interaction[Any], period: str = "7d") -> None:
        await run(interaction, "staff", "report", {"period": period})

    @vigie.command(name="rules-test", description=_("Test the rulebook on a text"))
    @app_commands.describe(text=_("Text to test"))
    async def rules_test(interaction: discord.Interaction[Any], text: str) -> None:
        await run(interaction, "staff", "rules_test", {"text": text})

    @vigie.command(name="crisis-ack", description=_("Acknowledge a crisis alert"))
    @app_commands.describe(incident=_("Incident id (latest when empty)"))
    async def crisis_ack(interaction: discord.Interaction[Any], incident: str | None = None) -> None:
        await run(interaction, "staff", "ack", {"incident_id": incident})

    tree.add_command(vigie)

    @tree.command(name="warn", description=_("Warn a member"))
    @app_commands.guild_only()
    @app_commands.default_permissions(moderate_members=True)
    @app_commands.describe(member=_("Member"), reason=_("Reason"), points=_("Warning points"))
    async def warn(
        interaction: discord.Interaction[Any],
        member: discord.Member,
        reason: str,
        points: app_commands.Range[int, 0, 100] = 1,
    ) -> None:
        await run(
            interaction, "moderator", "warn", {"member": str(member.id), "reason": reason, "points": points}
        )

    @tree.command(name="timeout", description=_("Time a member out"))
    @app_commands.guild_only()
    @app_commands.default_permissions(moderate_members=True)
    @app_commands.describe(member=_("Member"), duration=_("Duration, e.g. 10m, 1h, 1d"), reason=_("Reason"))
    async def timeout(
        interaction: discord.Interaction[Any], member: discord.Member, duration: str, reason: str
    ) -> None:
        try:
            seconds = int(parse_duration(duration).total_seconds())
        except ValueError as error:
            await interaction.response.send_message(
                texts.text("failed", actions.lang_for(interaction), error=str(error)), ephemeral=True
            )
            return
        await run(
            interaction,
            "moderator",
            "timeout",
            {"member": str(member.id), "seconds": seconds, "duration": duration, "reason": reason},
        )

    @tree.command(name="case", description=_("Show a moderation case"))
    @app_commands.guild_only()
    @app_commands.default_permissions(moderate_members=True)
    @app_commands.describe(number=_("Case number"))
    async def mod_case(interaction: discord.Interaction[Any], number: app_commands.Range[int, 1]) -> None:
        await run(interaction, "moderator", "mod_case", {"number": number})

    @tree.command(name="history", description=_("A member's moderation history"))
    @app_commands.guild_only()
    @app_commands.default_permissions(moderate_members=True)
    @app_commands.describe(member=_("Member"))
    async def history(interaction: discord.Interaction[Any], member: discord.Member) -> None:
        await run(interaction, "moderator", "history", {"member": str(member.id)})

    @tree.command(name="appeal", description=_("Contest a sanction"))
    @app_commands.guild_only()
    @app_commands.describe(text=_("Why the sanction should be lifted"), case=_("Case number"))
    async def appeal(
        interaction: discord.Interaction[Any], text: str, case: app_commands.Range[int, 1] | None = None
    ) -> None:
        await run(interaction, "member", "appeal", {"text": text, "case_number": case})

    return tree
