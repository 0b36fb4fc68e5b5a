"""The platform-neutral vocabulary of Vigie: what arrives (Event), what the rules said (Verdict),
and what must happen because of it (Effect).

Every model here is frozen and JSON-safe, so it can cross the queue, the store and the HTTP API
unchanged. Ingress adapters (webhook, Slack, Discord, CLI) all produce the same `Event`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["comment", "review", "dm", "mention", "message"]
KINDS: tuple[Kind, ...] = ("comment", "review", "dm", "mention", "message")

# JSON-safe scalar values carried in free-form parameters.
JsonScalar = str | int | float | bool | None
JsonValue = JsonScalar | list[Any] | dict[str, Any]

SourceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="Where the event comes from, lower case: google-reviews, discord, slack, instagram...",
    ),
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def event_id_for(source: str, external_id: str) -> str:
    """The stable id of an event: the same (source, external_id) always gives the same id, so a
    redelivery maps onto the stored row and onto the same queue job. RQ job ids allow only letters,
    digits, `_` and `-`, hence hex."""
    digest = hashlib.blake2b(f"{source}\x00{external_id}".encode(), digest_size=10).hexdigest()
    return f"ev-{digest}"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Author(Frozen):
    id: str = Field(min_length=1, max_length=200, description="The author's id on the source platform.")
    name: str | None = Field(default=None, max_length=200)
    followers: int | None = Field(default=None, ge=0, description="Reach: followers or subscribers.")
    created_at: datetime | None = Field(default=None, description="When the account was created.")
    roles: tuple[str, ...] = Field(default=(), description="Roles on the source platform (Discord roles).")


class Event(Frozen):
    """One comment, review, DM, mention or message, from anywhere."""

    source: SourceName
    kind: Kind
    external_id: str = Field(
        min_length=1, max_length=256, description="The id on the source; unique per source."
    )
    text: str = Field(max_length=40_000)
    author: Author
    rating: int | None = Field(default=None, ge=1, le=5, description="Star rating, for reviews.")
    url: str | None = Field(default=None, max_length=2048, description="Link to the original.")
    created_at: datetime = Field(default_factory=utcnow)
    lang: str | None = Field(
        default=None, pattern=r"^[a-z]{2,3}$", description="ISO 639-1; detected when absent."
    )
    brand: str | None = Field(default=None, max_length=100, description="Whose brand a mention is about.")
    channel: str | None = Field(default=None, max_length=200, description="Channel or page on the source.")
    thread_id: str | None = Field(
        default=None, max_length=256, description="Conversation id on the source; same thread, same case."
    )
    reply_to: str | None = Field(default=None, max_length=256, description="external_id this answers.")
    metadata: dict[str, JsonScalar] = Field(default_factory=dict, description="Small source-specific extras.")

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # Naive timestamps are taken as UTC: review sites and forms rarely say otherwise.
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, JsonScalar]) -> dict[str, JsonScalar]:
        if len(value) > 50:
            raise ValueError("at most 50 metadata keys")
        return value

    @property
    def id(self) -> str:
        return event_id_for(self.source, self.external_id)

    @property
    def conversation_key(self) -> str:
        """Which customer conversation this event belongs to on its source."""
        if self.thread_id:
            return f"{self.source}:thread:{self.thread_id}"
        return f"{self.source}:author:{self.author.id}"


ActionType = Literal[
    "label",
    "hide",
    "delete",
    "hold",
    "warn",
    "timeout",
    "kick",
    "ban",
    "mirror",
    "route",
    "signal",
    "block",
    "require_approval",
]


class Action(Frozen):
    """One thing a rule asked for. `params` depend on the type (label: {"label"}, warn: {"message"},
    timeout: {"seconds"}, mirror: {"channel"}, route: {"team", "priority", "sla"}, signal: {"signal",
    "weight"}, block: {"reason"}, require_approval: {"role"})."""

    type: ActionType
    rule: str
    params: dict[str, JsonValue] = Field(default_factory=dict)
    dry_run: bool = False


class RuleHit(Frozen):
    rule: str
    matched: tuple[str, ...] = ()
    normalized: tuple[str, ...] = ()
    dry_run: bool = False


class Route(Frozen):
    team: str
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    sla: str | None = None
    rule: str | None = None


class Verdict(Frozen):
    """What the rulebook concluded about one event (or one outgoing draft)."""

    event_id: str
    labels: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    hits: tuple[RuleHit, ...] = ()
    lang: str | None = None
    sentiment: float | None = None
    route: Route | None = None
    crisis_score: float = 0.0
    rulebook_version: str = ""

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(hit.rule for hit in self.hits)

    @property
    def crisis(self) -> bool:
        return self.crisis_score > 0

    def live_actions(self, *types: ActionType) -> tuple[Action, ...]:
        """Actions to carry out: dry-run actions are recorded, never applied."""
        return tuple(a for a in self.actions if not a.dry_run and (not types or a.type in types))


EffectKind = Literal[
    "post_card",  # mirror an event into a team channel (or its conversation thread)
    "update_card",  # re-render a card in place after its case changed
    "post_note",  # a line in a thread (moderation log, draft card, system notice)
    "moderate",  # delete / hide / timeout / kick / ban / warn on the source platform
    "open_case",  # open or attach to an after-sales case
    "signal",  # record a crisis signal
    "deliver_reply",  # send an approved reply back to the customer
    "survey",  # ask the customer of a resolved case for a 1–5 satisfaction rating
    "page",  # notify someone of a crisis or SLA breach
]


class Effect(Frozen):
    """Something that must happen once. `key` is stable across retries of the job that produced it,
    so the applier can claim it before running it and skip it when it already ran."""

    kind: EffectKind
    subject: str = Field(description="The event or case id this effect belongs to.")
    name: str = Field(default="", description="Tells apart effects of one kind on one subject.")
    params: dict[str, JsonValue] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.subject}:{self.kind}:{self.name}" if self.name else f"{self.subject}:{self.kind}"
