"""Everything casework writes to people, in English and French (the workspace `language`).
Texts name ids and states, never customer text, so they are safe in logs and audit details too."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (english, french)
    "unknown_actor": (
        "You are not a staff member in vigie.yaml ({actor}).",
        "Vous n'êtes pas dans l'équipe déclarée dans vigie.yaml ({actor}).",
    ),
    "unknown_verb": (
        "Unknown command {verb!r}. Known: {verbs}.",
        "Commande inconnue {verb!r}. Connues : {verbs}.",
    ),
    "missing_role": (
        "{who} cannot {what}: needs role {roles}.",
        "{who} ne peut pas {what} : rôle requis {roles}.",
    ),
    "not_in_team": ("{who} is not in team {team}.", "{who} ne fait pas partie de l'équipe {team}."),
    "bad_arg": ("Invalid {name}: {problem}.", "{name} invalide : {problem}."),
    "missing_arg": ("Missing {name}.", "Il manque {name}."),
    "unknown_case": ("No case #{id}.", "Aucun dossier n°{id}."),
    "unknown_draft": ("No draft #{id}.", "Aucun brouillon n°{id}."),
    "unknown_event": ("No event {id}.", "Aucun événement {id}."),
    "unknown_staff": ("No staff member {id}.", "Aucun membre de l'équipe {id}."),
    "unknown_team": ("No team {id}.", "Aucune équipe {id}."),
    "no_case_here": ("No case is linked to this thread.", "Aucun dossier n'est lié à ce fil."),
    "wrong_state": (
        "Case #{id} is {status}: cannot {move}.",
        "Le dossier n°{id} est {status} : impossible de {move}.",
    ),
    "draft_wrong_state": (
        "Draft #{id} is {status}: cannot {move}.",
        "Le brouillon n°{id} est {status} : impossible de {move}.",
    ),
    "case_list": ("{n} case(s).", "{n} dossier(s)."),
    "draft_list": ("{n} draft(s).", "{n} brouillon(s)."),
    "case_show": (
        "Case #{id}: {status}, {priority}, {assignee}.",
        "Dossier n°{id} : {status}, {priority}, {assignee}.",
    ),
    "case_opened": ("Case #{id} opened for team {team}.", "Dossier n°{id} ouvert pour l'équipe {team}."),
    "assigned": ("Case #{id} assigned to {to}.", "Dossier n°{id} attribué à {to}."),
    "already_assigned": (
        "Case #{id} is already assigned to {to}.",
        "Le dossier n°{id} est déjà attribué à {to}.",
    ),
    "over_cap": (
        "{to} already has {n} open cases (cap {cap}).",
        "{to} a déjà {n} dossiers ouverts (plafond {cap}).",
    ),
    "resolved": ("Case #{id} resolved.", "Dossier n°{id} résolu."),
    "reopened": ("Case #{id} reopened.", "Dossier n°{id} rouvert."),
    "snoozed": ("Case #{id} snoozed until {until}.", "Dossier n°{id} en pause jusqu'au {until}."),
    "woke": ("Case #{id} is back from snooze.", "Le dossier n°{id} sort de pause."),
    "priority_set": (
        "Case #{id} priority is now {priority}.",
        "Le dossier n°{id} passe en priorité {priority}.",
    ),
    "labels_set": ("Case #{id} labels: {labels}.", "Étiquettes du dossier n°{id} : {labels}."),
    "escalated": ("Case #{id} escalated to {to}.", "Dossier n°{id} escaladé à {to}."),
    "draft_pending": (
        "Draft #{id} on case #{case} awaits approval by {roles}.",
        "Le brouillon n°{id} du dossier n°{case} attend l'approbation d'un {roles}.",
    ),
    "draft_blocked": (
        "Draft #{id} blocked by rule {rule}: {reason}",
        "Brouillon n°{id} bloqué par la règle {rule} : {reason}",
    ),
    "draft_approved": (
        "Draft #{id} approved by {by}; sending.",
        "Brouillon n°{id} approuvé par {by} ; envoi en cours.",
    ),
    "draft_edited": ("Draft #{id} edited by {by}.", "Brouillon n°{id} modifié par {by}."),
    "draft_rejected": (
        "Draft #{id} rejected by {by}: {reason}",
        "Brouillon n°{id} refusé par {by} : {reason}",
    ),
    "draft_expired": (
        "Draft #{id} expired without a decision.",
        "Le brouillon n°{id} a expiré sans décision.",
    ),
    "draft_sent": ("Draft #{id} delivered.", "Brouillon n°{id} envoyé."),
    "draft_failed": (
        "Draft #{id} could not be delivered: {error}",
        "Le brouillon n°{id} n'a pas pu être envoyé : {error}",
    ),
    "already_decided": (
        "Draft #{id} was already {status} by {by}; nothing sent again.",
        "Le brouillon n°{id} a déjà été {status} par {by} ; rien n'est renvoyé.",
    ),
    "self_approval": (
        "{who} wrote draft #{id}: a second person must approve it.",
        "{who} a rédigé le brouillon n°{id} : une autre personne doit l'approuver.",
    ),
    "not_author": (
        "Only the author of draft #{id} or an approver may edit it.",
        "Seul l'auteur du brouillon n°{id} ou un approbateur peut le modifier.",
    ),
    "empty_text": ("The reply is empty.", "La réponse est vide."),
    "unknown_template": ("No saved reply {name!r}.", "Aucune réponse enregistrée {name!r}."),
    "template_needs": (
        "Saved reply {name!r} needs {fields}: pass them as fields.",
        "La réponse enregistrée {name!r} a besoin de {fields} : passez-les en champs.",
    ),
    "no_reply_target": (
        "Case #{id} has no customer message to answer.",
        "Le dossier n°{id} n'a aucun message client auquel répondre.",
    ),
    "sla_warn": (
        "Case #{id}: {target} due at {due} ({team}).",
        "Dossier n°{id} : {target} attendue pour {due} ({team}).",
    ),
    "sla_breach": (
        "Case #{id}: {target} SLA missed (due {due}, {team}).",
        "Dossier n°{id} : SLA {target} dépassé (échéance {due}, {team}).",
    ),
    "sla_escalate": (
        "Case #{id}: {target} still missing, escalated (level {level}).",
        "Dossier n°{id} : {target} toujours en attente, escalade (niveau {level}).",
    ),
    "replies": ("{n} saved repl(ies).", "{n} réponse(s) enregistrée(s)."),
    "nobody": ("unassigned", "non attribué"),
    # card vocabulary
    "case_title": ("Case #{id} · {team} · {priority}", "Dossier n°{id} · {team} · {priority}"),
    "draft_title": ("Draft reply #{id} · case #{case}", "Projet de réponse n°{id} · dossier n°{case}"),
    "f_status": ("Status", "Statut"),
    "f_assignee": ("Assignee", "Responsable"),
    "f_priority": ("Priority", "Priorité"),
    "f_sla": ("SLA", "SLA"),
    "f_source": ("From", "Source"),
    "f_author": ("Author", "Auteur"),
    "f_approvers": ("Approvers", "Approbateurs"),
    "f_template": ("Saved reply", "Réponse type"),
    "f_ethics": ("Ethics", "Éthique"),
    "f_paged": ("Paged", "Alerté(s)"),
    "b_take": ("Take", "Prendre"),
    "b_assign": ("Assign", "Attribuer"),
    "b_resolve": ("Resolve", "Résoudre"),
    "b_reply": ("Reply", "Répondre"),
    "b_escalate": ("Escalate", "Escalader"),
    "b_approve": ("Approve & send", "Approuver et envoyer"),
    "b_edit": ("Edit", "Modifier"),
    "b_reject": ("Reject", "Refuser"),
    "decided": ("{status} by {by} at {at}", "{status} par {by} le {at}"),
    "blocked_footer": ("Blocked: {reason}", "Bloqué : {reason}"),
    "pending_footer": (
        "Awaiting approval ({roles}), expires {at}",
        "En attente d'approbation ({roles}), expire le {at}",
    ),
}

WORDS: dict[str, tuple[str, str]] = {
    "open": ("open", "ouvert"),
    "pending": ("pending", "en attente"),
    "snoozed": ("snoozed", "en pause"),
    "resolved": ("resolved", "résolu"),
    "blocked": ("blocked", "bloqué"),
    "approved": ("approved", "approuvé"),
    "rejected": ("rejected", "refusé"),
    "expired": ("expired", "expiré"),
    "sent": ("sent", "envoyé"),
    "failed": ("failed", "échec"),
    "low": ("low", "basse"),
    "normal": ("normal", "normale"),
    "high": ("high", "haute"),
    "urgent": ("urgent", "urgente"),
    "first_response": ("first response", "première réponse"),
    "next_response": ("next response", "réponse suivante"),
    "resolution": ("resolution", "résolution"),
    "active": ("active", "en cours"),
    "hit": ("hit", "respecté"),
    "missed": ("missed", "dépassé"),
    "active_with_misses": ("active with misses", "en cours, avec dépassements"),
    "cancelled": ("cancelled", "annulé"),
    "none": ("none", "aucun"),
    "vigie": ("Vigie", "Vigie"),
}


def say(key: str, lang: str, **values: Any) -> str:
    english, french = MESSAGES[key]
    return (french if lang == "fr" else english).format(**values)


def word(key: str, lang: str) -> str:
    pair = WORDS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "fr" else pair[0]
