"""Pure moderation policy: which scope a case belongs to, how many points an action weighs, when
they expire, and what a member's new total triggers. No I/O; the casebook applies the answers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from bot.durations import parse_duration
from bot.events import Event, JsonValue
from bot.moderation.config import MAX_TIMEOUT, ModerationConfig, Threshold

_ISO_DURATION = TypeAdapter(timedelta)


def scope_for(source: str, guild: str | None) -> str:
    """Cases are numbered per community: a Discord server, else the whole source."""
    return f"{source}:{guild}" if guild else source


def scope_of(event: Event) -> str:
    guild = event.metadata.get("guild_id")
    return scope_for(event.source, str(guild) if guild not in (None, "") else None)


def points_for(action: str, explicit: JsonValue, config: ModerationConfig) -> int:
    """An explicit count (a moderator's `/warn points:`) wins over the configured weight."""
    if isinstance(explicit, bool):
        explicit = None
    if isinstance(explicit, int | float) and 0 <= explicit <= 100:
        return int(explicit)
    if isinstance(explicit, str) and explicit.strip().isdigit():
        return min(int(explicit), 100)
    return next((weight for name, weight in config.points.items() if name == action), 0)


def expiry(points: int, now: datetime, config: ModerationConfig) -> datetime | None:
    return now + config.expire_after if points > 0 else None


def seconds_of(value: JsonValue) -> int | None:
    """A duration from action params: seconds, "10m", or pydantic's ISO 8601 ("PT600S")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value > 0 else None
    if not isinstance(value, str):
        return None
    try:
        delta = parse_duration(value)
    except ValueError:
        try:
            delta = _ISO_DURATION.validate_python(value)
        except ValidationError:
            return None
    seconds = int(delta.total_seconds())
    return seconds if seconds > 0 else None


def timeout_seconds(params: dict[str, JsonValue]) -> int | None:
    found = seconds_of(params.get("seconds")) or seconds_of(params.get("duration"))
    return min(found, int(MAX_TIMEOUT.total_seconds())) if found else None


def escalation(before: int, after: int, config: ModerationConfig) -> Threshold | None:
    """The threshold that going from `before` to `after` active points sets off, if any.

    Only the strongest threshold crossed fires (a jump from 2 to 6 is a 1-day timeout, not a 1-hour
    one and then a 1-day one). When its action is not allowed, the strongest allowed threshold at or
    below it fires instead, so a member reaching the kick threshold on a server that forbids kicks is
    still sanctioned."""
    ordered = config.sorted_thresholds()
    crossed = [t for t in ordered if before < t.points <= after]
    if not crossed:
        return None
    strongest = crossed[-1]
    allowed = [t for t in ordered if t.points <= strongest.points and t.action in config.allowed_escalations]
    return allowed[-1] if allowed else None


def is_exempt(roles: Iterable[str], config: ModerationConfig) -> bool:
    return bool(set(roles) & set(config.exempt_roles))
