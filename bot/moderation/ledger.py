"""Opening numbered cases and describing what the platform must do about them.

Every sanction Vigie carries out is one case and one `moderate` effect whose key is stored on the
case (`effect_key`), so opening, retrying and re-rendering all meet on the same row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.durations import format_duration
from bot.events import Action, Author, Effect, Event, JsonScalar, JsonValue
from bot.moderation.config import ModerationConfig
from bot.moderation.policy import escalation, expiry, is_exempt
from bot.moderation.texts import say
from bot.store.modcases import ModCaseRepo
from bot.store.models import ModCaseRow
from bot.store.unit import Unit

ESCALATION_RULE = "warning-points"
# Effects carry the member's event; a long message is cut, since only the mod-log excerpt reads it.
TARGET_TEXT_LIMIT = 1000


@dataclass(frozen=True)
class NewCase:
    scope: str
    source: str
    action: str
    member_id: str
    moderator: str
    reason: str
    points: int = 0
    rule: str | None = None
    event_id: str | None = None
    duration_s: int | None = None
    effect_key: str | None = None
    caused_by: int | None = None
    appeal_of: int | None = None


def open_case(
    unit: Unit,
    new: NewCase,
    now: datetime,
    config: ModerationConfig,
    *,
    door: str = "worker",
    key_checked: bool = False,
) -> tuple[ModCaseRow, bool]:
    """Number, store and audit a case; (row, created). `key_checked`: the caller found no case of
    `new.effect_key` in this transaction (see `ModCaseRepo.open`)."""
    row = ModCaseRow(
        scope=new.scope,
        number=0,
        source=new.source,
        action=new.action,
        member_id=new.member_id,
        event_id=new.event_id,
        rule=new.rule,
        moderator=new.moderator,
        reason=new.reason,
        points=new.points,
        total_points=0,
        expires_at=expiry(new.points, now, config),
        duration_s=new.duration_s,
        created_at=now,
        status="active",
        appeal_of=new.appeal_of,
        effect_key=new.effect_key,
        caused_by=new.caused_by,
    )
    row, created = ModCaseRepo(unit).open(row, key_checked=key_checked)
    if created:
        # Ids and states only: the audit log never holds reasons or member ids.
        unit.audit(
            actor=new.moderator,
            door=door,
            action=f"modcase.{new.action}",
            subject=f"modcase:{row.id}",
            detail={
                "scope": row.scope,
                "number": row.number,
                "points": row.points,
                "appeal_of": row.appeal_of,
            },
            at=now,
        )
    return row, created


def effect_subject(row: ModCaseRow) -> str:
    return f"modcase:{row.id}"


def bind_effect(unit: Unit, row: ModCaseRow) -> str:
    """Give a case opened by Vigie itself the key of the effect that will carry it out."""
    key = Effect(kind="moderate", subject=effect_subject(row), name=row.action).key
    row.effect_key = key
    unit.flush()
    return key


def case_params(row: ModCaseRow, lang: str | None) -> dict[str, JsonValue]:
    """What the platform displays: the case number, the points and the timeout length."""
    params: dict[str, JsonValue] = {"case": row.number}
    if row.points > 0 or row.action == "warn":
        params["points"] = row.points
        params["total_points"] = row.total_points
    if row.duration_s:
        params["seconds"] = row.duration_s
        params["duration"] = format_duration(timedelta(seconds=row.duration_s))
    if lang:
        params["lang"] = lang
    return params


def target_of(event: Event) -> Event:
    if len(event.text) <= TARGET_TEXT_LIMIT:
        return event
    return event.model_copy(update={"text": event.text[:TARGET_TEXT_LIMIT]})


def command_target(
    *,
    source: str,
    scope: str,
    number: int,
    member: str,
    guild: str | None,
    channel: str | None,
    name: str | None,
) -> Event:
    """The event a staff sanction acts on: a member, with no message of theirs behind it. Its
    external id names the case, so it never collides with a real message."""
    metadata: dict[str, JsonScalar] = {"conversation": "community", "modcase": number}
    if guild:
        metadata["guild_id"] = guild
    return Event(
        source=source,
        kind="message",
        external_id=f"modcase:{scope}:{number}",
        text="",
        author=Author(id=member, name=name),
        channel=channel,
        metadata=metadata,
    )


def sanction_effect(
    row: ModCaseRow, target: Event, *, reason: str, lang: str | None, message: str | None = None
) -> Effect:
    """The `moderate` effect for a case. Its params hold the member's event (`event`), so the
    applier needs no stored event for sanctions a moderator typed."""
    params = case_params(row, lang)
    if message:
        params["message"] = message
    action = Action.model_validate({"type": row.action, "rule": row.rule or "manual", "params": params})
    return Effect(
        kind="moderate",
        subject=effect_subject(row),
        name=row.action,
        params={
            "action": action.model_dump(mode="json"),
            "reason": reason,
            "event": target_of(target).model_dump(mode="json"),
            "case": row.number,
            "scope": row.scope,
        },
    )


def escalate(
    unit: Unit, counted: ModCaseRow, target: Event, now: datetime, config: ModerationConfig, lang: str
) -> list[ModCaseRow]:
    """Open the case a threshold crossing calls for, if any. Escalations add no points of their own,
    so one crossing can never set off another."""
    if counted.points <= 0 or is_exempt(target.author.roles, config):
        return []
    threshold = escalation(counted.total_points - counted.points, counted.total_points, config)
    if threshold is None:
        return []
    seconds = int(threshold.duration.total_seconds()) if threshold.duration else None
    row, _ = open_case(
        unit,
        NewCase(
            scope=counted.scope,
            source=counted.source,
            action=threshold.action,
            member_id=counted.member_id,
            moderator="vigie",
            reason=say("reason_escalation", lang, total=counted.total_points, threshold=threshold.points),
            rule=ESCALATION_RULE,
            event_id=counted.event_id,
            duration_s=seconds,
            caused_by=counted.id,
        ),
        now,
        config,
    )
    bind_effect(unit, row)
    return [row]


def escalation_effects(rows: list[ModCaseRow], target: Event, lang: str | None) -> list[Effect]:
    return [sanction_effect(row, target, reason=row.reason, lang=lang) for row in rows]
