"""What the casebook writes to people, in English and French. Answers name case numbers, actions and
member ids; only a case view shows the moderator's reason, and only an appeal card the member's text."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (english, french)
    "unknown_verb": ("Unknown moderation command {verb!r}.", "Commande de modération inconnue {verb!r}."),
    "unknown_actor": (
        "You are not a staff member in vigie.yaml ({actor}).",
        "Vous n'êtes pas dans l'équipe déclarée dans vigie.yaml ({actor}).",
    ),
    "missing_role": (
        "{who} cannot {what}: needs role {roles}.",
        "{who} ne peut pas {what} : rôle requis {roles}.",
    ),
    "missing_arg": ("Missing {name}.", "Il manque {name}."),
    "bad_arg": ("Invalid {name}: {problem}.", "{name} invalide : {problem}."),
    "no_scope": (
        "Which server? Give source (and guild_id) or scope.",
        "Quel serveur ? Indiquez source (et guild_id) ou scope.",
    ),
    "unknown_case": ("No moderation case #{number}.", "Aucun dossier de modération n°{number}."),
    "self_sanction": ("You cannot sanction yourself.", "Vous ne pouvez pas vous sanctionner vous-même."),
    "not_your_case": (
        "Case #{number} is not about you: you can only contest your own sanctions.",
        "Le dossier n°{number} ne vous concerne pas : vous ne pouvez contester que vos propres sanctions.",
    ),
    "not_appealable": (
        "Case #{number} ({action}, {status}) cannot be contested.",
        "Le dossier n°{number} ({action}, {status}) ne peut pas être contesté.",
    ),
    "nothing_to_appeal": (
        "You have no sanction to contest here.",
        "Vous n'avez aucune sanction à contester ici.",
    ),
    "not_an_appeal": (
        "Case #{number} has no pending appeal.",
        "Le dossier n°{number} n'a pas de contestation en cours.",
    ),
    "wrong_status": (
        "Case #{number} is {status}: cannot {move}.",
        "Le dossier n°{number} est {status} : impossible de {move}.",
    ),
    "warned": (
        "Case #{number}: {member} warned ({points} pt, {total} active).",
        "Dossier n°{number} : {member} averti ({points} pt, {total} actifs).",
    ),
    "timed_out": (
        "Case #{number}: {member} timed out for {duration}.",
        "Dossier n°{number} : {member} exclu temporairement pour {duration}.",
    ),
    "escalated": (
        "Threshold of {threshold} points reached: {action} (case #{number}).",
        "Seuil de {threshold} points atteint : {action} (dossier n°{number}).",
    ),
    "case_line": (
        "#{number} {action} · {member} · {status} · {points} pt · {date} · by {moderator}",
        "n°{number} {action} · {member} · {status} · {points} pt · {date} · par {moderator}",
    ),
    "case_reason": ("Reason: {reason}", "Raison : {reason}"),
    "case_appeal_of": ("Contests case #{number}.", "Conteste le dossier n°{number}."),
    "case_expires": ("Points count until {date}.", "Points comptés jusqu'au {date}."),
    "history_head": (
        "{member}: {n} case(s), {points} active point(s).",
        "{member} : {n} dossier(s), {points} point(s) actif(s).",
    ),
    "history_empty": ("{member} has no moderation case.", "{member} n'a aucun dossier de modération."),
    "appealed": (
        "Your appeal of case #{number} is recorded as case #{appeal} and was sent to the moderators.",
        "Votre contestation du dossier n°{number} est enregistrée (dossier n°{appeal}) "
        "et transmise aux modérateurs.",
    ),
    "revoked": ("Case #{number} revoked.", "Dossier n°{number} révoqué."),
    "revoked_lift": (
        "Case #{number} revoked; lift the {action} on the platform if it still runs.",
        "Dossier n°{number} révoqué ; levez le {action} sur la plateforme s'il est encore en cours.",
    ),
    "appeal_decided": (
        "Appeal of case #{number}: sanction {decision}.",
        "Contestation du dossier n°{number} : sanction {decision}.",
    ),
    "edited": ("Case #{number}: reason updated.", "Dossier n°{number} : raison mise à jour."),
    "noted": ("Case #{number}: note added for {member}.", "Dossier n°{number} : note ajoutée pour {member}."),
    # Reasons written into the platform's audit log and the mod-log.
    "reason_escalation": (
        "Vigie: {total} warning points (threshold {threshold})",
        "Vigie : {total} points d'avertissement (seuil {threshold})",
    ),
    "reason_manual": ("Vigie, by {moderator}: {reason}", "Vigie, par {moderator} : {reason}"),
    "no_reason": ("No reason given.", "Aucune raison donnée."),
    # Appeal card.
    "appeal_title": (
        "Appeal #{appeal}: {member} contests case #{number} ({action})",
        "Contestation n°{appeal} : {member} conteste le dossier n°{number} ({action})",
    ),
    "f_member": ("Member", "Membre"),
    "f_sanction": ("Sanction", "Sanction"),
    "f_reason": ("Reason", "Raison"),
    "f_points": ("Points", "Points"),
    "f_date": ("Date", "Date"),
    "f_moderator": ("Moderator", "Modérateur"),
    "appeal_footer": (
        "Decide with mod_appeal {appeal} uphold|overturn",
        "Décidez avec mod_appeal {appeal} uphold|overturn",
    ),
    # What the user sees for actions, statuses and decisions.
    "action_delete": ("deletion", "suppression"),
    "action_hide": ("hidden message", "message masqué"),
    "action_warn": ("warning", "avertissement"),
    "action_timeout": ("timeout", "exclusion temporaire"),
    "action_kick": ("kick", "expulsion"),
    "action_ban": ("ban", "bannissement"),
    "action_automod": ("AutoMod", "AutoMod"),
    "action_appeal": ("appeal", "contestation"),
    "action_note": ("note", "note"),
    "status_active": ("active", "actif"),
    "status_expired": ("expired", "expiré"),
    "status_revoked": ("revoked", "révoqué"),
    "status_appealed": ("appealed", "contesté"),
    "status_upheld": ("upheld", "maintenu"),
    "status_overturned": ("overturned", "annulé"),
    "move_revoke": ("revoke it", "le révoquer"),
    "move_decide": ("decide its appeal", "statuer sur sa contestation"),
    "what_sanction": ("sanction members", "sanctionner des membres"),
    "what_read": ("read moderation cases", "consulter les dossiers de modération"),
    "what_decide": ("decide appeals", "statuer sur les contestations"),
}

LANGS = ("en", "fr")


def say(key: str, lang: str, **values: Any) -> str:
    english, french = MESSAGES[key]
    template = french if lang == "fr" else english
    return template.format(**values)


def label(kind: str, value: str, lang: str) -> str:
    """A displayed action, status or decision; unknown values are shown as they are."""
    key = f"{kind}_{value}"
    return say(key, lang) if key in MESSAGES else value
