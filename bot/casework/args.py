"""Reading staff command arguments that come from buttons (strings), slash commands and the CLI,
with refusals that name the argument."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.casework.context import Refused
from bot.durations import parse_duration


def ident(args: Mapping[str, Any], name: str) -> int:
    """A case or draft id: 12, "12", "#12", "case:12"."""
    raw = args.get(name)
    if raw is None or raw == "":
        raise Refused("missing_arg", name=name)
    text = str(raw).strip().lstrip("#")
    text = text.split(":", 1)[1] if ":" in text else text
    try:
        value = int(text)
    except ValueError:
        raise Refused("bad_arg", name=name, problem=f"{raw!r} is not a number") from None
    if value < 1:
        raise Refused("bad_arg", name=name, problem=f"{raw!r} is not a number")
    return value


def text(args: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    raw = args.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Refused("missing_arg", name=name)
        return None
    if not isinstance(raw, str | int | float):
        raise Refused("bad_arg", name=name, problem="expected text")
    return str(raw).strip()


def names(args: Mapping[str, Any], name: str) -> list[str]:
    raw = args.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, list | tuple):
        return [str(part).strip() for part in raw if str(part).strip()]
    raise Refused("bad_arg", name=name, problem="expected a list")


def flag(args: Mapping[str, Any], name: str) -> bool:
    raw = args.get(name, False)
    if isinstance(raw, str):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return bool(raw)


def limit(args: Mapping[str, Any], default: int = 50) -> int:
    raw = args.get("limit", default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise Refused("bad_arg", name="limit", problem=f"{raw!r} is not a number") from None
    return max(1, min(value, 500))


def until(args: Mapping[str, Any], now: datetime) -> datetime:
    """`until` (ISO time; naive means UTC) or `for` (a duration from now)."""
    if args.get("until"):
        try:
            at = datetime.fromisoformat(str(args["until"]))
        except ValueError:
            raise Refused("bad_arg", name="until", problem="use an ISO time like 2026-11-21T09:00") from None
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    elif args.get("for"):
        try:
            at = now + parse_duration(str(args["for"]))
        except ValueError as error:
            raise Refused("bad_arg", name="for", problem=str(error)) from None
    else:
        raise Refused("missing_arg", name="until/for")
    if at <= now:
        raise Refused("bad_arg", name="until", problem="must be in the future")
    return at


def fields(args: Mapping[str, Any]) -> dict[str, str]:
    raw = args.get("fields") or {}
    if isinstance(raw, list):
        out = {}
        for item in raw:
            key, sep, value = str(item).partition("=")
            if not sep:
                raise Refused("bad_arg", name="fields", problem=f"{item!r}: use name=value")
            out[key.strip()] = value.strip()
        return out
    if not isinstance(raw, dict):
        raise Refused("bad_arg", name="fields", problem="expected name=value pairs")
    return {str(k): str(v) for k, v in raw.items() if v is not None}
