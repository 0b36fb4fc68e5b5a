"""How a case reads: its effective status, a JSON view for command results, a line for listings,
and the card an appeal puts in front of the moderators."""

from __future__ import annotations

from datetime import datetime

from bot.events import JsonValue
from bot.moderation.texts import label, say
from bot.ports import Card
from bot.store.models import ModCaseRow


def effective_status(row: ModCaseRow, now: datetime) -> str:
    """Points stop counting at `expires_at` whether or not a sweep has marked the row yet."""
    if row.status == "active" and row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return row.status


def member_ref(door: str, member_id: str) -> str:
    return f"<@{member_id}>" if door == "discord" and member_id.isdigit() else member_id


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def case_view(row: ModCaseRow, now: datetime) -> dict[str, JsonValue]:
    return {
        "number": row.number,
        "scope": row.scope,
        "action": row.action,
        "member_id": row.member_id,
        "moderator": row.moderator,
        "reason": row.reason,
        "rule": row.rule,
        "points": row.points,
        "total_points": row.total_points,
        "expires_at": _iso(row.expires_at),
        "duration_s": row.duration_s,
        "created_at": _iso(row.created_at),
        "status": effective_status(row, now),
        "appeal_of": row.appeal_of,
        "event_id": row.event_id,
        "caused_by": row.caused_by,
        "note": row.note,
    }


def case_line(row: ModCaseRow, now: datetime, lang: str, door: str) -> str:
    return say(
        "case_line",
        lang,
        number=row.number,
        action=label("action", row.action, lang),
        member=member_ref(door, row.member_id),
        status=label("status", effective_status(row, now), lang),
        points=row.points,
        date=row.created_at.date().isoformat(),
        moderator=row.moderator,
    )


def case_text(row: ModCaseRow, now: datetime, lang: str, door: str) -> str:
    lines = [case_line(row, now, lang, door)]
    if row.reason:
        lines.append(say("case_reason", lang, reason=row.reason))
    if row.appeal_of is not None:
        lines.append(say("case_appeal_of", lang, number=row.appeal_of))
    if row.expires_at is not None and effective_status(row, now) not in ("expired", "revoked", "overturned"):
        lines.append(say("case_expires", lang, date=row.expires_at.date().isoformat()))
    return "\n".join(lines)


def appeal_card(appeal: ModCaseRow, sanction: ModCaseRow, lang: str, door: str) -> Card:
    """The card the moderators see: the member's own words and the sanction they contest."""
    member = member_ref(door, appeal.member_id)
    fields: list[tuple[str, str]] = [
        (say("f_member", lang), member),
        (say("f_sanction", lang), f"#{sanction.number} {label('action', sanction.action, lang)}"),
        (say("f_reason", lang), sanction.reason or "-"),
        (say("f_moderator", lang), sanction.moderator),
        (say("f_date", lang), sanction.created_at.date().isoformat()),
    ]
    if sanction.points:
        fields.append((say("f_points", lang), f"{sanction.points} / {sanction.total_points}"))
    return Card(
        title=say(
            "appeal_title",
            lang,
            appeal=appeal.number,
            member=member,
            number=sanction.number,
            action=label("action", sanction.action, lang),
        ),
        text=appeal.reason,
        fields=tuple(fields),
        labels=("appeal",),
        severity="warning",
        footer=f"{say('appeal_footer', lang, appeal=appeal.number)} · {appeal.scope}",
    )
