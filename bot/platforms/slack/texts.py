"""Every sentence the Slack adapter writes to people, in English and French.

`text(key, lang, **values)` falls back to English for an unknown language, so a misconfigured
locale never produces an empty message.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "help": {
        "en": (
            "*Vigie commands*\n"
            "• `/vigie case [id]`: show a case\n"
            "• `/vigie take [case]`: take a case\n"
            "• `/vigie assign @user [case]`: assign a case\n"
            "• `/vigie resolve [case]`: resolve a case\n"
            "• `/vigie report [7d]`: activity report\n"
            "• `/vigie rules test <text>`: dry-run the rules on a text (only you see it)\n"
            "• `/vigie rules reload`: reload the rule packs\n"
            "• `/vigie crisis ack|resolve [id]`: acknowledge or resolve a crisis\n"
            "• `/vigie oncall`: who is on call\n"
            "Slash commands do not work in threads: use the card's buttons or the "
            "*Vigie actions* message shortcut there. A reply in a card's thread becomes a draft, "
            "sent only after someone else approves it."
        ),
        "fr": (
            "*Commandes Vigie*\n"
            "• `/vigie case [id]` : afficher un dossier\n"
            "• `/vigie take [dossier]` : prendre un dossier\n"
            "• `/vigie assign @personne [dossier]` : attribuer un dossier\n"
            "• `/vigie resolve [dossier]` : clore un dossier\n"
            "• `/vigie report [7d]` : rapport d'activité\n"
            "• `/vigie rules test <texte>` : tester les règles sur un texte (visible par vous seul)\n"
            "• `/vigie rules reload` : recharger les règles\n"
            "• `/vigie crisis ack|resolve [id]` : prendre en compte ou clore une crise\n"
            "• `/vigie oncall` : qui est d'astreinte\n"
            "Les commandes ne fonctionnent pas dans les fils : utilisez les boutons de la carte ou "
            "le raccourci de message *Actions Vigie*. Une réponse dans le fil d'une carte devient un "
            "brouillon, envoyé seulement après l'approbation d'une autre personne."
        ),
    },
    "unknown_command": {
        "en": "Unknown command `{command}`.",
        "fr": "Commande inconnue `{command}`.",
    },
    "usage": {"en": "Usage: `{usage}`", "fr": "Utilisation : `{usage}`"},
    "failed": {
        "en": "Vigie could not do this right now; please try again.",
        "fr": "Vigie n'a pas pu le faire pour l'instant ; réessayez.",
    },
    "done": {"en": "Done.", "fr": "C'est fait."},
    "modal_assign_title": {"en": "Assign the case", "fr": "Attribuer le dossier"},
    "modal_assign_label": {"en": "Assign to", "fr": "Attribuer à"},
    "modal_reply_title": {"en": "Draft a reply", "fr": "Rédiger une réponse"},
    "modal_edit_title": {"en": "Edit the reply", "fr": "Modifier la réponse"},
    "modal_text_label": {"en": "Reply to the customer", "fr": "Réponse au client"},
    "modal_text_hint": {
        "en": "Saved as a draft: it is sent only after someone else approves it.",
        "fr": "Enregistré comme brouillon : envoyé seulement après l'approbation d'une autre personne.",
    },
    "modal_thread_title": {"en": "Vigie actions", "fr": "Actions Vigie"},
    "modal_thread_action": {"en": "Action", "fr": "Action"},
    "modal_thread_user": {"en": "Person (for Assign)", "fr": "Personne (pour Attribuer)"},
    "modal_thread_text": {"en": "Reply (for Draft a reply)", "fr": "Réponse (pour Rédiger une réponse)"},
    "modal_submit": {"en": "Save", "fr": "Enregistrer"},
    "modal_cancel": {"en": "Cancel", "fr": "Annuler"},
    "need_assignee": {"en": "Choose a person.", "fr": "Choisissez une personne."},
    "need_text": {"en": "Write the reply.", "fr": "Écrivez la réponse."},
    "action_take": {"en": "Take", "fr": "Prendre"},
    "action_assign": {"en": "Assign", "fr": "Attribuer"},
    "action_resolve": {"en": "Resolve", "fr": "Clore"},
    "action_escalate": {"en": "Escalate", "fr": "Escalader"},
    "action_draft": {"en": "Draft a reply", "fr": "Rédiger une réponse"},
    "truncated": {
        "en": "… (truncated, {hidden} more characters)",
        "fr": "… (tronqué, {hidden} caractères de plus)",
    },
    "read_original": {"en": "Read the original", "fr": "Lire l'original"},
    "digest_root": {
        "en": ":rotating_light: Heavy traffic in this channel: events are grouped in this thread.",
        "fr": ":rotating_light: Fort trafic dans ce canal : les événements sont regroupés dans ce fil.",
    },
    "digest_title": {
        "en": "Digest: {count} events",
        "fr": "Résumé : {count} événements",
    },
    "labels": {"en": "Labels", "fr": "Étiquettes"},
    "cannot_moderate": {
        "en": "Slack apps cannot {action} a member's message: do it by hand in Slack ({reason}).",
        "fr": "Une app Slack ne peut pas appliquer « {action} » au message d'un membre : "
        "faites-le à la main dans Slack ({reason}).",
    },
}


def text(key: str, lang: str = "en", **values: Any) -> str:
    variants = TEXTS[key]
    template = variants.get(lang) or variants["en"]
    return template.format(**values) if values else template
