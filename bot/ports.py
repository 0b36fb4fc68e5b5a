"""The ports between Vigie's core and the platforms.

A port is a small interface; each platform (console, Slack, Discord, webhook outbox) is one
implementation of it, and the console platform doubles as the in-process test double. The core
renders platform-neutral `Card`s and issues `StaffCommand`s; adapters translate both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import Field

from bot.events import Action, Event, Frozen, JsonValue

ButtonAction = Literal[
    "take", "assign", "resolve", "reply", "escalate", "approve", "edit", "reject", "ack", "silence"
]


class Button(Frozen):
    action: ButtonAction
    value: str = Field(description="What the button acts on: a case, draft or incident id.")
    label: str
    style: Literal["default", "primary", "danger"] = "default"


class Card(Frozen):
    """A message Vigie posts to a team: a mirrored event, a draft awaiting approval, an incident.
    Adapters render it as Block Kit (Slack), an embed with buttons (Discord) or rich text (console)."""

    title: str
    text: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    labels: tuple[str, ...] = ()
    url: str | None = None
    buttons: tuple[Button, ...] = ()
    severity: Literal["info", "good", "warning", "danger"] = "info"
    footer: str = ""


class MessageRef(Frozen):
    """Where a posted message lives, so it can be updated or threaded under later."""

    platform: str
    channel: str
    message_id: str
    thread_id: str | None = None


@runtime_checkable
class TeamChat(Protocol):
    """Team channels on one platform (Slack, Discord, console)."""

    name: str
    # True when `post` with the same idempotency key never posts twice (console by key, Discord by
    # nonce): the applier may then record such posts in one transaction after a batch.
    deduplicates: bool

    def post(
        self,
        channel: str,
        card: Card,
        *,
        thread: MessageRef | None = None,
        idempotency_key: str | None = None,
    ) -> MessageRef:
        """Post a card to a team channel, or into the thread of `thread` when given. A platform that
        can deduplicate (console by key, Discord by nonce) posts at most once per idempotency key."""
        ...

    def update(self, ref: MessageRef, card: Card) -> None:
        """Re-render a posted card in place."""
        ...


@dataclass(frozen=True)
class StoredPost:
    """One card for a team chat whose channels live in the store; `key` makes the post idempotent."""

    channel: str
    card: Card
    thread: MessageRef | None = None
    key: str | None = None


@runtime_checkable
class StoreBackedChat(Protocol):
    """A team chat whose channels live in Vigie's own store (the console): it can post (one card or
    a wave's cards at once) and update cards inside the caller's transaction."""

    def post_in(
        self,
        unit: Any,  # bot.store.unit.Unit: ports do not import the store
        channel: str,
        card: Card,
        *,
        thread: MessageRef | None = None,
        idempotency_key: str | None = None,
    ) -> MessageRef: ...

    def post_many_in(self, unit: Any, posts: Sequence[StoredPost]) -> list[MessageRef]: ...

    def update_in(self, unit: Any, ref: MessageRef, card: Card) -> None: ...


@runtime_checkable
class StoreBackedCustomer(Protocol):
    """A way back to customers that lives in Vigie's own store (the console outbox): it can act
    inside the caller's transaction, deduplicated by key."""

    def moderate_in(
        self, unit: Any, event: Event, action: Action, *, reason: str, idempotency_key: str
    ) -> None: ...


@runtime_checkable
class CustomerChannel(Protocol):
    """The way back to the customer on the platform they wrote from, and moderation there."""

    name: str

    def deliver_reply(self, event: Event, text: str, *, idempotency_key: str) -> str:
        """Send an approved reply answering `event`; return its id on the platform."""
        ...

    def moderate(self, event: Event, action: Action, *, reason: str, idempotency_key: str) -> None:
        """Carry out a moderation action (delete, hide, warn, timeout, kick, ban) on `event`."""
        ...


class IngestResult(Frozen):
    id: str
    duplicate: bool


Ingest = Callable[[Event], IngestResult]
"""Store an event once and enqueue its processing; what every ingress adapter calls."""


class StaffCommand(Frozen):
    """A staff action from any door: a button, a thread reply, a slash command, the CLI.
    The actor is a platform identity; the core maps it to a staff member from vigie.yaml and checks
    the role, so identities are never trusted from message text."""

    door: Literal["slack", "discord", "console", "cli", "http"]
    actor: str = Field(description="Platform user id (Slack U…, Discord snowflake) or staff id for the CLI.")
    verb: str = Field(description="case, assign, take, resolve, reopen, snooze, draft, approve, reject, ...")
    args: dict[str, JsonValue] = Field(default_factory=dict)


class CommandResult(Frozen):
    ok: bool
    message: str
    data: dict[str, JsonValue] = Field(default_factory=dict)


Dispatch = Callable[[StaffCommand], CommandResult]
"""Run a staff command through the application services and say what happened."""


class RetryLater(Exception):
    """A platform asked us to come back later (HTTP 429, pacing, a 5xx). The applier releases the
    effect's claim and reschedules the job after `seconds`, without blocking the worker."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(f"retry in {seconds:.1f}s: {reason}")
        self.seconds = seconds
        self.reason = reason


class PermanentFailure(Exception):
    """The platform refused for good (unknown channel, missing permission, invalid payload): the
    effect ends as failed with this message, visible to the team, and is not retried."""
