"""The moderation casebook: numbered cases per community, warning points that expire and escalate,
AutoMod's actions and members' appeals. The one service behind moderation, whatever the door.

Called by the applier for each `moderate` effect, before the platform call, in its own unit:
    enrich_moderation(unit, event, action, now, key=effect.key, reason=..., config=...) -> Enriched
Called by the worker for an event with `metadata.automod`:
    record_automod(unit, event, now, config=...) -> Recorded | None
Called by the worker to weigh the rulebook's `strikes`:
    active_points(unit, scope_of(event), event.author.id, now) -> int
Called by the dispatcher for the verbs in `MODERATION_VERBS`:
    dispatch_moderation(store, workspace, command, now, config=...) -> CommandResult

verb        args                                                  who (vigie.yaml roles)
----------  ----------------------------------------------------  ---------------------------------
warn        member, reason?, points? (default: config weight)     moderator, lead, admin
timeout     member, seconds or duration, reason?                  moderator, lead, admin
mod_case    number                                                any staff
history     member                                                any staff
appeal      text, case_number? (default: their latest sanction)   the sanctioned member only
mod_revoke  number, reason?                                       moderator, lead, admin
mod_appeal  number (appeal or sanction), decision, note?          moderator, lead, admin
mod_note    member, text                                          moderator, lead, admin
mod_edit    number, reason                                        moderator, lead, admin

Every verb also reads the community: `scope`, or `source` (the door for Discord/Slack) and
`guild_id`; and `lang` (fr/en) for the answer. Refusals have `data["error"]` set to a stable key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.events import Action, Effect, Event, JsonValue
from bot.moderation.commands import VERBS
from bot.moderation.config import ModerationConfig
from bot.moderation.context import Context, Refused, language
from bot.moderation.ledger import NewCase, case_params, escalate, escalation_effects, open_case
from bot.moderation.policy import points_for, scope_of, timeout_seconds
from bot.moderation.texts import say
from bot.ports import CommandResult, StaffCommand
from bot.store.modcases import ModCaseRepo
from bot.store.unit import Store, Unit
from bot.workspace import Workspace

MODERATION_VERBS = frozenset(VERBS)
SANCTIONS = ("delete", "hide", "warn", "timeout", "kick", "ban")


@dataclass(frozen=True)
class Enriched:
    """The action to hand to the platform (with `case`, `points`, `total_points`), and the effects of
    any threshold its points crossed, to record and apply after it."""

    action: Action
    case: int
    created: bool
    escalations: tuple[Effect, ...]


@dataclass(frozen=True)
class Recorded:
    case: int
    created: bool
    escalations: tuple[Effect, ...]


def moderation_target(params: Mapping[str, JsonValue]) -> Event | None:
    """The member's event carried by a casebook effect (sanctions typed by a moderator and
    escalations); None for the rulebook's own effects, whose subject is the stored event's id."""
    raw = params.get("event")
    return Event.model_validate(raw) if isinstance(raw, dict) else None


def config_of(workspace: Workspace) -> ModerationConfig:
    """`Workspace.moderation` once vigie.yaml has the section, else the defaults."""
    found = getattr(workspace, "moderation", None)
    return found if isinstance(found, ModerationConfig) else ModerationConfig()


def enrich_moderation(
    unit: Unit,
    event: Event,
    action: Action,
    now: datetime,
    *,
    key: str,
    reason: str = "",
    config: ModerationConfig | None = None,
    lang: str | None = None,
) -> Enriched:
    """Open the case of one `moderate` effect (once per effect key) and return its action with the
    case number and points. A second call with the same key opens nothing and returns the same case
    and the same escalation effects, so a retried effect changes nothing."""
    if action.type not in SANCTIONS:
        raise ValueError(f"{action.type} is not a moderation action")
    config = config or ModerationConfig()
    asked = action.params.get("lang")
    lang = lang or (asked if isinstance(asked, str) else None)
    repo = ModCaseRepo(unit)
    row = repo.by_key(key)
    created = False
    if row is None:
        points = points_for(action.type, action.params.get("points"), config)
        row, created = open_case(
            unit,
            NewCase(
                scope=scope_of(event),
                source=event.source,
                action=action.type,
                member_id=event.author.id,
                moderator="vigie",
                reason=reason or action.rule,
                points=points,
                rule=action.rule,
                event_id=event.id,
                duration_s=timeout_seconds(action.params) if action.type == "timeout" else None,
                effect_key=key,
            ),
            now,
            config,
            key_checked=True,
        )
    raised = escalate(unit, row, event, now, config, lang or "en") if created else repo.caused_by(row.id)
    enriched = action.model_copy(update={"params": {**action.params, **case_params(row, None)}})
    return Enriched(
        action=enriched,
        case=row.number,
        created=created,
        escalations=tuple(escalation_effects(raised, event, lang)),
    )


def record_automod(
    unit: Unit,
    event: Event,
    now: datetime,
    *,
    config: ModerationConfig | None = None,
    lang: str | None = None,
) -> Recorded | None:
    """AutoMod already acted on the platform; this opens its case (once per event). Discord sends one
    event per executed action, so each is a case; only a blocked message weighs points, so a rule
    that blocks, alerts and times out counts once."""
    if event.metadata.get("automod") is not True:
        return None
    config = config or ModerationConfig()
    meta = event.metadata
    kind = str(meta.get("automod_action") or "unknown")
    matched = meta.get("matched_keyword") or meta.get("matched_content")
    reason = " · ".join(
        str(part)
        for part in (f"AutoMod {kind}", meta.get("automod_trigger"), matched)
        if part not in (None, "")
    )
    duration = meta.get("duration_seconds")
    row, created = open_case(
        unit,
        NewCase(
            scope=scope_of(event),
            source=event.source,
            action="automod",
            member_id=event.author.id,
            moderator="automod",
            reason=reason,
            points=config.automod_points if kind == "block_message" else 0,
            rule=f"automod:{meta.get('automod_rule_id') or '?'}",
            event_id=event.id,
            duration_s=duration if isinstance(duration, int) and duration > 0 else None,
            effect_key=f"automod:{event.id}",
        ),
        now,
        config,
    )
    raised = (
        escalate(unit, row, event, now, config, lang or "en")
        if created
        else ModCaseRepo(unit).caused_by(row.id)
    )
    return Recorded(
        case=row.number, created=created, escalations=tuple(escalation_effects(raised, event, lang))
    )


def active_points(unit: Unit, scope: str, member_id: str, now: datetime) -> int:
    """A member's warning points still counting: what the rulebook's `strikes` can weigh."""
    return ModCaseRepo(unit).active_points(scope, member_id, now)


def expire_points(unit: Unit, now: datetime) -> int:
    """Mark warnings past their expiry as expired (for a periodic timer); counting never waits on it."""
    return ModCaseRepo(unit).expire_due(now)


def dispatch_moderation(
    store: Store,
    workspace: Workspace,
    command: StaffCommand,
    now: datetime,
    *,
    config: ModerationConfig | None = None,
) -> CommandResult:
    lang = language(command, workspace)
    handler = VERBS.get(command.verb)
    if handler is None:
        return _refusal(Refused("unknown_verb", verb=command.verb), lang)
    try:
        with store.unit() as unit:
            ctx = Context(unit, workspace, config or config_of(workspace), command, now, lang)
            return handler(ctx, dict(command.args))
    except Refused as refusal:
        return _refusal(refusal, lang)


def _refusal(refusal: Refused, lang: str) -> CommandResult:
    return CommandResult(
        ok=False, message=say(refusal.key, lang, **refusal.values), data={"error": refusal.key}
    )
