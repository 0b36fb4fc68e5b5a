"""Every sentence the Discord adapter writes to people, in English and French.

Keys are stable; `text(key, lang, **values)` falls back to English for an unknown language so a
misconfigured locale never produces an empty message.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "no_permission": {
        "en": "You don't have a role that allows this command.",
        "fr": "Vous n'avez pas de rôle autorisant cette commande.",
    },
    "failed": {
        "en": "Vigie could not run this: {error}",
        "fr": "Vigie n'a pas pu exécuter ceci : {error}",
    },
    "unavailable": {
        "en": "Vigie is busy, please try again in a moment.",
        "fr": "Vigie est occupé, réessayez dans un instant.",
    },
    "done": {"en": "Done.", "fr": "C'est fait."},
    "guild_only": {
        "en": "This command only works in a server.",
        "fr": "Cette commande ne fonctionne que sur un serveur.",
    },
    "modal_edit_title": {"en": "Edit the reply", "fr": "Modifier la réponse"},
    "modal_reply_title": {"en": "Draft a reply", "fr": "Rédiger une réponse"},
    "modal_text_label": {"en": "Reply sent to the customer", "fr": "Réponse envoyée au client"},
    "assign_prompt": {"en": "Assign case {case} to:", "fr": "Attribuer le dossier {case} à :"},
    "assign_placeholder": {"en": "Choose a team member", "fr": "Choisir un membre de l'équipe"},
    "draft_saved": {
        "en": "Draft saved; it is sent only after approval.",
        "fr": "Brouillon enregistré ; il n'est envoyé qu'après approbation.",
    },
    "warn_dm": {
        "en": "You received a warning on {guild}: {message}",
        "fr": "Vous avez reçu un avertissement sur {guild} : {message}",
    },
    "warn_channel": {
        "en": "{mention}, warning: {message}",
        "fr": "{mention}, avertissement : {message}",
    },
    "warn_points": {
        "en": "({points} point(s), {total} in total)",
        "fr": "({points} point(s), {total} au total)",
    },
    "warn_default": {
        "en": "please follow the server rules.",
        "fr": "merci de respecter les règles du serveur.",
    },
    "modlog_title": {"en": "Case {case} · {action}", "fr": "Dossier {case} · {action}"},
    "modlog_title_nocase": {"en": "Moderation · {action}", "fr": "Modération · {action}"},
    "modlog_member": {"en": "Member", "fr": "Membre"},
    "modlog_channel": {"en": "Channel", "fr": "Salon"},
    "modlog_reason": {"en": "Reason", "fr": "Raison"},
    "modlog_rule": {"en": "Rule", "fr": "Règle"},
    "modlog_duration": {"en": "Duration", "fr": "Durée"},
    "modlog_points": {"en": "Points", "fr": "Points"},
    "modlog_copy": {"en": "Hidden message (copy)", "fr": "Message masqué (copie)"},
    "modlog_excerpt": {"en": "Message", "fr": "Message"},
    "action_delete": {"en": "message deleted", "fr": "message supprimé"},
    "action_hide": {"en": "message hidden", "fr": "message masqué"},
    "action_warn": {"en": "warning", "fr": "avertissement"},
    "action_timeout": {"en": "timeout", "fr": "exclusion temporaire"},
    "action_kick": {"en": "kick", "fr": "expulsion"},
    "action_ban": {"en": "ban", "fr": "bannissement"},
    "labels": {"en": "Labels", "fr": "Étiquettes"},
    "thread_name": {"en": "Case: {title}", "fr": "Dossier : {title}"},
}


def text(key: str, lang: str = "en", /, **values: Any) -> str:
    entry = TEXTS[key]
    template = entry.get(lang) or entry["en"]
    return template.format(**values) if values else template


def lang_of(locale: object, default: str = "en") -> str:
    """Vigie's language for a Discord locale (`fr`, `en-US`, a `discord.Locale`)."""
    value = str(getattr(locale, "value", locale) or "")
    if value.startswith("fr"):
        return "fr"
    if value.startswith("en"):
        return "en"
    return default
