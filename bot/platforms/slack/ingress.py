"""Slack message payloads → platform-neutral `Event`s (messages from customer or community
channels: Slack Connect, shared channels, DMs to the bot). Team-channel traffic never comes here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.events import Author, Event, JsonScalar, Kind

SOURCE = "slack"
TEXT_LIMIT = 40_000


def slack_time(ts: str | None) -> datetime | None:
    """`ts` is "seconds.micros"; `event_ts` sometimes has no dot, so both are parsed defensively."""
    if not ts:
        return None
    try:
        # 16 digits without a dot are microseconds.
        seconds = float(ts) if "." in ts or len(ts) <= 10 else int(ts) / 1_000_000
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def permalink(channel: str, ts: str, thread_ts: str | None = None) -> str:
    url = f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        url += f"?thread_ts={thread_ts}&cid={channel}"
    return url


def is_thread_reply(event: dict[str, Any]) -> bool:
    """Replies are told apart by `thread_ts != ts`: the `message_replied` subtype is not reliable."""
    thread_ts = event.get("thread_ts")
    return bool(thread_ts) and thread_ts != event.get("ts")


def message_event(body: dict[str, Any], event: dict[str, Any], *, kind: Kind | None = None) -> Event | None:
    """The Event for a new message or an edit (`message_changed`); None when it has no author."""
    channel = str(event.get("channel") or "")
    edited = event.get("subtype") == "message_changed"
    message: dict[str, Any] = (event.get("message") or {}) if edited else event
    user = message.get("user")
    ts = str(message.get("ts") or (event.get("previous_message") or {}).get("ts") or event.get("ts") or "")
    if not user or not channel or not ts:
        return None
    thread_ts = message.get("thread_ts") if is_thread_reply(message) else None
    channel_type = str(event.get("channel_type") or "")
    if kind is None:
        kind = "dm" if channel_type == "im" else "message"
    external_id = f"{channel}:{ts}"
    metadata: dict[str, JsonScalar] = {
        "ts": ts,
        "thread_ts": thread_ts or ts,
        "channel_type": channel_type or None,
        "team": body.get("team_id"),
        "shared": bool(body.get("is_ext_shared_channel")),
    }
    if edited:
        edit_ts = str((message.get("edited") or {}).get("ts") or event.get("ts") or "")
        # Each edit is its own event, so the rules re-check the new text; a redelivery maps onto it.
        external_id = f"{external_id}:edit:{edit_ts}"
        metadata["edited"] = True
    # A DM is one conversation; elsewhere a thread is.
    conversation = channel if channel_type == "im" and not thread_ts else f"{channel}:{thread_ts or ts}"
    profile = message.get("user_profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or None
    return Event(
        source=SOURCE,
        kind=kind,
        external_id=external_id,
        text=str(message.get("text") or "")[:TEXT_LIMIT],
        author=Author(id=str(user), name=str(name)[:200] if name else None),
        url=permalink(channel, ts, thread_ts),
        created_at=slack_time(ts) or datetime.now(UTC),
        channel=channel,
        thread_id=conversation,
        reply_to=f"{channel}:{thread_ts}" if thread_ts else None,
        metadata=metadata,
    )
