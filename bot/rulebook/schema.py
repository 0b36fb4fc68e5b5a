"""The rule file format, as pydantic models: what an admin may write, and nothing else.

Unknown keys are refused everywhere (a typo such as `unles:` must not silently disable a safety
condition). `RuleFile.model_json_schema()` is what `vigie rules schema` prints for editors.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from bot.events import KINDS
from bot.rulebook.detectors import DETECTORS
from bot.rulebook.matchers import MODES
from bot.rulebook.normalize import VIEWS

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}


def parse_duration(value: Any) -> Any:
    """`90`, `10s`, `5m`, `2h`, `7d`, `1w` to seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as 10s, 5m, 2h, 7d")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found:
            return float(found.group(1)) * _UNITS[found.group(2)]
    raise ValueError(f"{value!r} is not a duration (write 10s, 5m, 2h, 7d or a number of seconds)")


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": _DURATION.pattern}]}),
]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value


def _shape(value: Any) -> str:
    """Pick a union member by the YAML value's shape, so an error speaks of that member only."""
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return "scalar"


UNION_TAGS = frozenset(("mapping", "list", "scalar"))


def _listify_any(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


StrList = Annotated[list[str], BeforeValidator(_listify)]
Kind = Literal["comment", "review", "dm", "mention", "message"]
assert set(KINDS) == set(Kind.__args__)  # type: ignore[attr-defined]  # keep in step with bot.events
View = Literal["none", "clean", "aggressive"]
assert set(VIEWS) == set(View.__args__)  # type: ignore[attr-defined]
Mode = Literal["word", "substring", "prefix", "exact", "phrase"]
assert set(MODES) == set(Mode.__args__)  # type: ignore[attr-defined]
DetectorName = Literal["email", "phone", "iban", "card", "address", "link", "invite", "pii"]
assert set(DETECTORS) | {"pii"} == set(DetectorName.__args__)  # type: ignore[attr-defined]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Compare(Strict):
    """A numeric test: every bound given must hold."""

    lt: float | None = None
    lte: float | None = None
    gt: float | None = None
    gte: float | None = None
    eq: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Compare:
        if all(v is None for v in (self.lt, self.lte, self.gt, self.gte, self.eq)):
            raise ValueError("give at least one of lt, lte, gt, gte, eq")
        return self


class DurationCompare(Compare):
    lt: Duration | None = None
    lte: Duration | None = None
    gt: Duration | None = None
    gte: Duration | None = None
    eq: Duration | None = None


class TextCondition(Strict):
    """Matches the message text. Any listed term, regex or detector firing makes it true."""

    words: StrList = Field(default_factory=list, description="Terms, or @list names (rules/lists/NAME.txt).")
    mode: Mode = Field(
        "word", description="word: whole words (Unicode); phrase: words in order, any punctuation."
    )
    normalize: View = Field(
        "clean", description="none: as written; clean; aggressive: also leet, spacing, stretching."
    )
    regex: StrList = Field(default_factory=list, description="RE2 patterns, searched in the chosen view.")
    detect: list[DetectorName] = Field(
        default_factory=list, description="Built-in detectors; pii = all personal data."
    )

    @field_validator("detect", mode="before")
    @classmethod
    def _detect_list(cls, value: Any) -> Any:
        return _listify(value)

    @model_validator(mode="after")
    def _something(self) -> TextCondition:
        if not (self.words or self.regex or self.detect):
            raise ValueError("a text condition needs words, regex or detect")
        return self


class AuthorCondition(Strict):
    role: StrList | None = Field(
        None, description="Any of these roles (`staff` also when the caller says so)."
    )
    account_age: DurationCompare | None = None
    followers: Compare | None = None
    strikes: Compare | None = Field(None, description="Prior strikes the caller knows of.")


class TimeCondition(Strict):
    between: tuple[str, str] | None = Field(None, description='Local times "HH:MM"; may wrap past midnight.')
    days: list[Weekday] | None = None
    tz: str | None = Field(None, description="IANA zone; defaults to the file's business_hours.tz.")

    @field_validator("between")
    @classmethod
    def _times(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        for item in value or ():
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", item):
                raise ValueError(f"{item!r} is not a time HH:MM")
        return value


class RateCondition(Strict):
    """True from the `count`-th event within `within` seconds, counted per author, channel or source."""

    count: int = Field(ge=1)
    within: Duration = Field(gt=0)
    per: Literal["author", "channel", "source", "conversation"] = "author"


class Condition(Strict):
    """Every field given must hold (all of them); `any`, `all` and `not` combine sub-conditions."""

    any_: list[Condition] | None = Field(None, alias="any")
    all_: list[Condition] | None = Field(None, alias="all")
    not_: Condition | None = Field(None, alias="not")
    text: (
        Annotated[
            Annotated[TextCondition, Tag("mapping")] | Annotated[list[TextCondition], Tag("list")],
            Discriminator(_shape),
        ]
        | None
    ) = None
    source: StrList | None = None
    kind: Annotated[list[Kind], BeforeValidator(_listify)] | None = None
    channel: StrList | None = None
    brand: StrList | None = None
    author: AuthorCondition | None = None
    lang: StrList | None = None
    rating: (
        Annotated[
            Annotated[Compare, Tag("mapping")]
            | Annotated[list[int], Tag("list")]
            | Annotated[int, Tag("scalar")],
            Discriminator(_shape),
        ]
        | None
    ) = None
    sentiment: Compare | None = None
    time: TimeCondition | None = None
    business_hours: bool | None = Field(
        None, description="true: inside the file's business hours; false: outside."
    )
    rate: RateCondition | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("empty condition")
        return self


# --- actions -----------------------------------------------------------------------------------

BareAction = Literal["hide", "delete", "hold", "kick", "ban", "block", "require_approval"]


class RouteSpec(Strict):
    team: str = Field(min_length=1)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    sla: Duration | None = None


class SignalSpec(Strict):
    name: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)


class LabelAction(Strict):
    label: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class WarnAction(Strict):
    warn: str = Field(
        min_length=1, description="Message to the author; {author}, {match}, {rule} are filled in."
    )


class HoldAction(Strict):
    hold: str = Field(min_length=1, description="Why a human must look.")


class TimeoutAction(Strict):
    timeout: Duration = Field(gt=0)


class MirrorAction(Strict):
    mirror: str = Field(min_length=1, description="Team channel name.")


class RouteAction(Strict):
    route: Annotated[
        Annotated[str, Tag("scalar")] | Annotated[RouteSpec, Tag("mapping")], Discriminator(_shape)
    ] = Field(description="A team name, or {team, priority, sla}.")


class SignalAction(Strict):
    signal: Annotated[
        Annotated[str, Tag("scalar")] | Annotated[SignalSpec, Tag("mapping")], Discriminator(_shape)
    ] = Field(description="A signal name (weight 1), or {name, weight}.")


class BlockAction(Strict):
    block: str = Field(min_length=1, description="Reason shown to the reply's author.")


class RequireApprovalAction(Strict):
    require_approval: str = Field(min_length=1, description="Role that must approve.")


def _action_tag(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    if isinstance(value, str) and value in BareAction.__args__:  # type: ignore[attr-defined]
        return "bare"
    return "unknown"


ActionSpec = Annotated[
    Annotated[BareAction, Tag("bare")]
    | Annotated[LabelAction, Tag("label")]
    | Annotated[WarnAction, Tag("warn")]
    | Annotated[HoldAction, Tag("hold")]
    | Annotated[TimeoutAction, Tag("timeout")]
    | Annotated[MirrorAction, Tag("mirror")]
    | Annotated[RouteAction, Tag("route")]
    | Annotated[SignalAction, Tag("signal")]
    | Annotated[BlockAction, Tag("block")]
    | Annotated[RequireApprovalAction, Tag("require_approval")],
    Discriminator(
        _action_tag,
        custom_error_type="unknown_action",
        custom_error_message=(
            "unknown action: write hide, delete, hold, kick, ban, block or require_approval, or one key"
            " of label, warn, hold, timeout, mirror, route, signal, block, require_approval"
            " (e.g. {label: toxic})"
        ),
    ),
]
ACTION_KEYS = frozenset(
    ("label", "warn", "hold", "timeout", "mirror", "route", "signal", "block", "require_approval")
)
BARE_ACTIONS = frozenset(BareAction.__args__)  # type: ignore[attr-defined]
OUTGOING_ONLY = frozenset(("block", "require_approval"))
INCOMING_ONLY = frozenset(("hide", "delete", "kick", "ban", "timeout", "warn"))


# --- inline tests ------------------------------------------------------------------------------


class TestAuthor(Strict):
    id: str = "test-author"
    name: str | None = "Test Author"
    roles: list[str] = Field(default_factory=list)
    followers: int | None = None
    account_age: Duration | None = Field(None, description="Age of the account at the time of the test.")


class TestCase(Strict):
    """An event for an inline test; only `text` is required."""

    text: str
    kind: Kind | None = None
    source: str = "test"
    channel: str | None = None
    brand: str | None = None
    lang: str | None = None
    rating: int | None = Field(None, ge=1, le=5)
    author: TestAuthor = Field(default_factory=TestAuthor)
    strikes: int = 0
    staff: bool = False
    at: str | None = Field(
        None, description="ISO time the event was sent, for time and business-hours rules."
    )
    times: int = Field(1, ge=1, le=1000, description="Send the event this many times (rate rules).")


TestItem = Annotated[
    Annotated[str, Tag("scalar")] | Annotated[TestCase, Tag("mapping")] | Annotated[list[str], Tag("list")],
    Discriminator(_shape),
]


class RuleTests(Strict):
    match: list[TestItem] = Field(
        default_factory=list, description="Texts (or events) the rule must fire on."
    )
    no_match: list[TestItem] = Field(
        default_factory=list, description="Texts (or events) it must leave alone."
    )


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)
    description: str = ""
    enabled: bool = True
    priority: int = Field(0, description="Higher runs first; ties keep file order.")
    dry_run: bool = Field(False, description="Record what the rule would do; do nothing.")
    when: Condition
    unless: Condition | None = None
    then: Annotated[list[ActionSpec], BeforeValidator(_listify_any)] = Field(min_length=1)
    stop: bool = Field(False, description="No later rule runs on this event.")
    tests: RuleTests | None = None


class BusinessHours(Strict):
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    start: str = "09:00"
    end: str = "18:00"
    tz: str = "Europe/Paris"


class RuleFile(Strict):
    """One rule pack (a YAML file in the rules directory)."""

    applies_to: Literal["incoming", "outgoing"] = Field(
        "incoming", description="incoming: community events; outgoing: the team's own replies."
    )
    description: str = ""
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    rules: list[Rule] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    schema = RuleFile.model_json_schema(by_alias=True)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "Vigie rule file"
    return schema
