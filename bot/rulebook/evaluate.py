"""The compiled rulebook and its evaluation: an event in, a `Verdict` out, no side effects.

Rules run by priority (higher first, then file order, then position). A rule fires when `when` holds
and `unless` does not; `stop` ends the run (not for a dry-run rule, which only records what it
would have done). The clock of an evaluation is `now` when given, else the event's `created_at`,
so replaying a file of events is deterministic.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from bot.events import Action, ActionType, Author, Event, JsonValue, Route, RuleHit, Verdict
from bot.rulebook.conditions import Pred
from bot.rulebook.context import Context, Evidence
from bot.rulebook.matchers import MatchEngine
from bot.rulebook.schema import Rule, RuleTests
from bot.rulebook.stats import SAMPLE_EVERY, RuleCounters, RuleStats
from bot.rulebook.windows import MemoryWindowCounter, WindowCounter

Direction = Literal["incoming", "outgoing"]
_M = TypeVar("_M", bound=BaseModel)
_TEMPLATE = re.compile(r"\{(author|match|rule)\}")


@dataclass(frozen=True)
class ActionTemplate:
    type: ActionType
    params: dict[str, JsonValue]
    templated: tuple[str, ...] = ()
    _fixed: dict[tuple[str, bool], Action] = field(default_factory=dict, compare=False, repr=False)

    def render(self, rule: str, author: str, match: str, dry_run: bool) -> Action:
        if not self.templated:
            # Frozen and the same for every event: build it once per rulebook.
            action = self._fixed.get((rule, dry_run))
            if action is None:
                action = self._fixed[(rule, dry_run)] = Action(
                    type=self.type, rule=rule, params=dict(self.params), dry_run=dry_run
                )
            return action
        params = dict(self.params)
        if self.templated:
            values = {"author": author, "match": match, "rule": rule}
            for key in self.templated:
                params[key] = _TEMPLATE.sub(lambda m: values[m.group(1)], str(params[key]))
        # Built from validated rule files: skip pydantic's validation on the hot path.
        return _build(Action, type=self.type, rule=rule, params=params, dry_run=dry_run)


@dataclass
class CompiledRule:
    rule: Rule
    file: str
    line: int
    direction: Direction
    when: Pred
    unless: Pred | None
    actions: tuple[ActionTemplate, ...]
    # Matcher ids of which one must have hit for `when` to hold (None: no such shortcut).
    required: frozenset[int] | None
    default_kind: str
    index: int = 0

    def __post_init__(self) -> None:
        # Plain attributes: read for every rule of every event.
        self.enabled = self.rule.enabled
        self.dry_run = self.rule.dry_run
        self.stop = self.rule.stop
        self.halts = self.stop and not self.dry_run
        # What firing adds to a verdict, worked out once: most actions are the same on every
        # event, so a hit costs a few tuple appends instead of building models.
        dry = self.dry_run
        self.fixed: tuple[Action, ...] | None = (
            None
            if any(t.templated for t in self.actions)
            else tuple(t.render(self.rule.id, "", "", dry) for t in self.actions)
        )
        self.live_actions = 0 if dry else len(self.actions)
        self.labels: tuple[str, ...] = ()
        self.route: Route | None = None
        self.weights: tuple[float, ...] = ()
        if not dry:
            labels: list[str] = []
            weights: list[float] = []
            for template in self.actions:
                params = template.params
                if template.type == "label":
                    labels.append(str(params["label"]))
                elif template.type == "route" and self.route is None:
                    self.route = _build(
                        Route,
                        team=str(params["team"]),
                        priority=params.get("priority") or "normal",
                        sla=params.get("sla"),
                        rule=self.rule.id,
                    )
                elif template.type == "signal":
                    weights.append(float(params.get("weight", 1.0)))  # type: ignore[arg-type]
            self.labels, self.weights = tuple(labels), tuple(weights)
        # One `RuleHit` per distinct normalised evidence, shared by the verdicts that carry it:
        # fewer objects that outlive an evaluation, less work for the cyclic garbage collector.
        self.hit_cache: dict[tuple[str, ...], RuleHit] = {}

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def tests(self) -> RuleTests | None:
        return self.rule.tests


@dataclass
class _Pass:
    rules: list[CompiledRule]
    engine: MatchEngine
    stats_offset: int = 0


@dataclass
class Rulebook:
    """A validated, compiled set of rule files. Immutable once built; swap whole rulebooks."""

    version: str
    incoming: list[CompiledRule]
    outgoing: list[CompiledRule]
    incoming_engine: MatchEngine
    outgoing_engine: MatchEngine
    files: tuple[str, ...] = ()
    stats: RuleStats = field(init=False)
    _counter: MemoryWindowCounter = field(init=False, default_factory=MemoryWindowCounter)

    def __post_init__(self) -> None:
        for index, rule in enumerate([*self.incoming, *self.outgoing]):
            rule.index = index
        self.stats = RuleStats([r.id for r in [*self.incoming, *self.outgoing]])
        self._plans = {id(self.incoming): _Plan(self.incoming), id(self.outgoing): _Plan(self.outgoing)}

    @property
    def rules(self) -> list[CompiledRule]:
        return [*self.incoming, *self.outgoing]

    def rule(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def evaluate(
        self,
        event: Event,
        *,
        now: datetime | None = None,
        counter: WindowCounter | None = None,
        strikes: int | Callable[[], int] = 0,
        author_is_staff: bool = False,
        signals: bool = False,
        explain: bool = False,
    ) -> Verdict:
        """Run the incoming rules on `event`.

        `signals=True` also computes language and sentiment for KPIs when no rule needed them;
        otherwise `Verdict.lang` / `Verdict.sentiment` are filled only when a rule asked (or `lang`
        came with the event). `explain=True` fills `RuleHit.matched` with the original text of each
        match (slower); `RuleHit.normalized` always holds the normalised form that matched.
        `counter` defaults to this rulebook's in-process window counter."""
        ctx = Context(
            event,
            self.incoming_engine,
            now=now or event.created_at,
            counter=counter or self._counter,
            strikes=strikes,
            staff=author_is_staff,
        )
        return self._run(ctx, self.incoming, signals=signals, explain=explain)

    def check_reply(
        self,
        text: str,
        *,
        event: Event | None = None,
        lang: str | None = None,
        now: datetime | None = None,
        explain: bool = False,
    ) -> Verdict:
        """Run the outgoing (ethics) rules on a reply the team wants to send, answering `event`."""
        reply = reply_event(text, event=event, lang=lang)
        ctx = Context(
            reply, self.outgoing_engine, now=now or reply.created_at, counter=self._counter, staff=True
        )
        return self._run(ctx, self.outgoing, signals=False, explain=explain)

    def fires(self, rule: CompiledRule, ctx: Context) -> list[Evidence] | None:
        """Whether one rule fires in `ctx`, and on what; used by inline tests and by `_run`."""
        evidence: list[Evidence] = []
        if rule.when(ctx, evidence) and (rule.unless is None or not rule.unless(ctx, None)):
            return evidence
        return None

    def _run(self, ctx: Context, rules: list[CompiledRule], *, signals: bool, explain: bool) -> Verdict:
        stats = self.stats
        stats.events += 1
        plan = self._plans[id(rules)]
        plan.events += 1
        # Per-rule evaluation counts are not bumped here: `_Plan.settle` derives them from the
        # events seen and where `stop` ended them, which is the same number for free.
        fired: list[tuple[CompiledRule, list[Evidence]]] = []
        if stats.events % SAMPLE_EVERY:
            for rule in plan.candidates(ctx):
                evidence: list[Evidence] = []
                if rule.when(ctx, evidence) and (rule.unless is None or not rule.unless(ctx, None)):
                    fired.append((rule, evidence))
                    if rule.halts:
                        plan.stopped_at(rule)
                        break
        else:
            self._run_timed(ctx, plan, fired)
        if signals:
            _ = ctx.sentiment
        return self._verdict(ctx, fired, explain)

    def _run_timed(self, ctx: Context, plan: _Plan, fired: list[tuple[CompiledRule, list[Evidence]]]) -> None:
        """`_run`'s loop with each rule timed, on one event in `SAMPLE_EVERY`: reading the clock
        around every rule of every event would cost more than most rules."""
        sampled, sampled_ns = self.stats.sampled, self.stats.sampled_ns
        clock = time.perf_counter_ns
        for rule in plan.candidates(ctx):
            started = clock()
            evidence: list[Evidence] = []
            hit = rule.when(ctx, evidence) and (rule.unless is None or not rule.unless(ctx, None))
            sampled[rule.index] += 1
            sampled_ns[rule.index] += clock() - started
            if hit:
                fired.append((rule, evidence))
                if rule.halts:
                    plan.stopped_at(rule)
                    break

    def _verdict(
        self, ctx: Context, fired: list[tuple[CompiledRule, list[Evidence]]], explain: bool
    ) -> Verdict:
        event = ctx.event
        if not fired:
            return _build(
                Verdict,
                event_id=event.id,
                labels=(),
                actions=(),
                hits=(),
                lang=ctx._lang,
                sentiment=ctx._sentiment,
                route=None,
                crisis_score=0.0,
                rulebook_version=self.version,
            )
        stats = self.stats
        rule_hits, rule_actions = stats.hits, stats.actions
        labels: list[str] = []
        actions: list[Action] = []
        hits: list[RuleHit] = []
        route: Route | None = None
        crisis = 0.0
        for rule, evidence in fired:
            i = rule.index
            rule_hits[i] += 1
            rule_actions[i] += rule.live_actions
            normalized = tuple(dict.fromkeys([ctx.normalized(e) for e in evidence])) if evidence else ()
            if explain:
                matched = tuple(dict.fromkeys([ctx.original(e) for e in evidence]))
                hits.append(
                    _build(
                        RuleHit, rule=rule.id, matched=matched, normalized=normalized, dry_run=rule.dry_run
                    )
                )
            else:
                rule_hit = rule.hit_cache.get(normalized)
                if rule_hit is None:
                    rule_hit = _build(
                        RuleHit, rule=rule.id, matched=(), normalized=normalized, dry_run=rule.dry_run
                    )
                    if len(rule.hit_cache) < _HIT_CACHE:
                        rule.hit_cache[normalized] = rule_hit
                hits.append(rule_hit)
            if rule.fixed is not None:
                actions.extend(rule.fixed)
            else:
                author = event.author.name or event.author.id
                first = normalized[0] if normalized else ""
                actions.extend(t.render(rule.id, author, first, rule.dry_run) for t in rule.actions)
            for label in rule.labels:
                if label not in labels:
                    labels.append(label)
            if route is None:
                route = rule.route
            for weight in rule.weights:
                crisis += weight
        return _build(
            Verdict,
            event_id=event.id,
            labels=tuple(labels),
            actions=tuple(actions),
            hits=tuple(hits),
            lang=ctx._lang,
            sentiment=ctx._sentiment,
            route=route,
            crisis_score=crisis,
            rulebook_version=self.version,
        )

    def drain_stats(self) -> dict[str, RuleCounters]:
        """Counters since the last drain; rules skipped because no required term matched count as
        evaluated (they were considered, and cost nothing)."""
        for plan in self._plans.values():
            plan.settle(self.stats.evaluations)
        return self.stats.drain()


class _Plan:
    """Which rules to try for an event. A rule whose `when:` needs a term or regex to match (most
    of them) is tried only when one of its matchers hit; the others are always tried. Order is
    kept, since priorities and `stop` depend on it."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = [r for r in rules if r.enabled]
        self.always = [r for r in self.rules if r.required is None]
        # One bit per rule, in rule order: OR-ing the masks of the matchers that hit gives the
        # rules to try, already ordered.
        self.always_mask = 0
        self.by_matcher: dict[int, int] = {}
        for n, rule in enumerate(self.rules):
            if rule.required is None:
                self.always_mask |= 1 << n
            for mid in rule.required or ():
                self.by_matcher[mid] = self.by_matcher.get(mid, 0) | (1 << n)
        self.position = {rule.index: n for n, rule in enumerate(self.rules)}
        self.events = 0
        self.stops = [0] * (len(self.rules) + 1)
        self.skipped_seen = 0

    def candidates(self, ctx: Context) -> list[CompiledRule]:
        if not self.by_matcher:
            return self.always
        found = ctx.hits
        if not found:
            return self.always
        mask = self.always_mask
        by_matcher = self.by_matcher
        for mid in found:
            mask |= by_matcher.get(mid, 0)
        rules = self.rules
        chosen = []
        while mask:
            low = mask & -mask
            chosen.append(rules[low.bit_length() - 1])
            mask ^= low
        return chosen

    def stopped_at(self, rule: CompiledRule) -> None:
        self.stops[self.position[rule.index] + 1] += 1

    def settle(self, evaluations: list[int]) -> None:
        """Credit each rule with the events it was skipped on (not tried, yet not stopped before)."""
        tried = {}
        reached = self.events
        for n, rule in enumerate(self.rules):
            reached -= self.stops[n]
            tried[rule.index] = reached
        for index, reached_count in tried.items():
            evaluations[index] = max(evaluations[index], reached_count)
        self.events = 0
        self.stops = [0] * (len(self.rules) + 1)


def _build(cls: type[_M], **values: Any) -> _M:
    """A frozen model from values known valid (every field given), without pydantic's checks:
    the hot path builds several per event and validation would cost more than the rules."""
    instance = cls.__new__(cls)
    _set_dict(instance, values)
    # Every field is always given, so one fields-set per class serves every instance: the models
    # are frozen and pydantic copies this set before changing it (`model_copy`).
    fields_set = _FIELDS_SET.get(cls)
    if fields_set is None:
        fields_set = _FIELDS_SET[cls] = set(values)
    _set_fields(instance, fields_set)
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance


_FIELDS_SET: dict[type[BaseModel], set[str]] = {}
# Slot descriptors of pydantic's BaseModel, called directly: cheaper than `object.__setattr__`.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_HIT_CACHE = 4096  # distinct RuleHits kept per rule; evidence like phone numbers never repeats


def reply_event(text: str, *, event: Event | None = None, lang: str | None = None) -> Event:
    """An outgoing reply seen as an event: the conversation's source, kind and channel, our text."""
    staff = Author(id="vigie-team", name="team", roles=("staff",))
    if event is None:
        return Event(source="vigie", kind="message", external_id="reply", text=text, author=staff, lang=lang)
    return event.model_copy(
        update={"text": text, "lang": lang, "author": staff, "external_id": f"reply:{event.external_id}"}
    )
