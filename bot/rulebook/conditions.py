"""Conditions compiled to predicates: `pred(ctx, evidence) -> bool`.

Within one mapping every field must hold; fields are tried cheapest first (event fields, then text,
language, sentiment) and `rate:` last, so a counter only counts events that met everything else:
`{text: {detect: link}, rate: {...}}` counts links, not every message.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.rulebook.context import Context, Evidence
from bot.rulebook.detectors import PII, Detector, runner
from bot.rulebook.matchers import MatchEngine, RegexRefused
from bot.rulebook.schema import (
    WEEKDAYS,
    AuthorCondition,
    BusinessHours,
    Compare,
    Condition,
    RateCondition,
    TextCondition,
    TimeCondition,
)

# `evidence` is None when nobody will read it (`unless`, `not`): text tests then stop at the first hit.
Pred = Callable[[Context, list[Evidence] | None], bool]
Report = Callable[[tuple[str | int, ...], str], None]
Lists = Callable[[str], list[str] | None]

_CHEAP, _TEXT, _LANG, _SENTIMENT, _STRIKES, _RATE = 0, 1, 2, 3, 8, 9


Op = Callable[[float, float], bool]
_OPS: tuple[tuple[str, Op], ...] = (
    ("lt", operator.lt),
    ("lte", operator.le),
    ("gt", operator.gt),
    ("gte", operator.ge),
    ("eq", operator.eq),
)


def single_bound(spec: Compare) -> tuple[Op, float] | None:
    """The one bound of `spec` as (operator, value), when it has only one (nearly always): a C
    operator call then tests a value without a Python frame of its own."""
    bounds = [(op, value) for name, op in _OPS if (value := getattr(spec, name)) is not None]
    return bounds[0] if len(bounds) == 1 else None


def compare(spec: Compare) -> Callable[[float], bool]:
    lt, lte, gt, gte, eq = spec.lt, spec.lte, spec.gt, spec.gte, spec.eq

    def test(value: float) -> bool:
        return (
            (lt is None or value < lt)
            and (lte is None or value <= lte)
            and (gt is None or value > gt)
            and (gte is None or value >= gte)
            and (eq is None or value == eq)
        )

    return test


def _zone(name: str, report: Report, loc: tuple[str | int, ...]) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        report(loc, f"unknown time zone {name!r}")
        return ZoneInfo("UTC")


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _within(
    now: datetime, zone: ZoneInfo, days: frozenset[int], start: time | None, end: time | None
) -> bool:
    local = now.astimezone(zone)
    if start is not None and end is not None:
        moment = local.time()
        inside = start <= moment < end if start <= end else (moment >= start or moment < end)
        # A window that wraps past midnight belongs to the day it started on.
        day = local.weekday() if start <= end or moment >= start else (local - timedelta(days=1)).weekday()
        return inside and day in days
    return local.weekday() in days


_REGEX_CASE_HINT = re.compile(r"\\[pP]\{[^}]*\}|\\.|\(\?P?<[^>]*>|\[:[a-z]+:\]")


class ConditionCompiler:
    def __init__(
        self, engine: MatchEngine, lists: Lists, hours: BusinessHours, report: Report, rule_id: str
    ) -> None:
        self.engine = engine
        self.lists = lists
        self.hours = hours
        self.report = report
        self.rule_id = rule_id
        self.matcher_ids: list[int] = []
        # Matcher ids per text condition, by location, with whether detectors can also fire it.
        self.text_matchers: dict[tuple[str | int, ...], tuple[tuple[int, ...], bool]] = {}

    def compile(self, cond: Condition, loc: tuple[str | int, ...]) -> tuple[Pred, int]:
        parts: list[tuple[int, Pred]] = []
        # Event checks are predicates of their own (no wrapper per check): a rule runs for most
        # events, and each Python call saved counts.
        event_checks: list[Pred] = []
        if cond.source is not None:
            sources = frozenset(cond.source)
            event_checks.append(lambda c, ev: c.event.source in sources)
        if cond.kind is not None:
            kinds = frozenset(cond.kind)
            event_checks.append(lambda c, ev: c.event.kind in kinds)
        if cond.channel is not None:
            channels = frozenset(cond.channel)
            event_checks.append(lambda c, ev: c.event.channel in channels)
        if cond.brand is not None:
            brands = frozenset(cond.brand)
            event_checks.append(lambda c, ev: c.event.brand in brands)
        if cond.rating is not None:
            event_checks.append(_rating(cond.rating))
        if cond.author is not None:
            event_checks.extend(self._author(cond.author))
        if cond.time is not None:
            event_checks.append(self._time(cond.time, (*loc, "time")))
        if cond.business_hours is not None:
            event_checks.append(self._business_hours(cond.business_hours, (*loc, "business_hours")))
        if event_checks:
            parts.append((_CHEAP, _all(tuple(event_checks))))
        if cond.text is not None:
            texts = cond.text if isinstance(cond.text, list) else [cond.text]
            for index, text in enumerate(texts):
                where = (*loc, "text", index) if isinstance(cond.text, list) else (*loc, "text")
                parts.append((_TEXT, self._text(text, where)))
        if cond.lang is not None:
            langs = frozenset(cond.lang)
            parts.append((_LANG, lambda c, ev: c.lang in langs))
        if cond.sentiment is not None:
            parts.append((_SENTIMENT, _sentiment(cond.sentiment)))
        for key, children in (("all", cond.all_), ("any", cond.any_)):
            if children is not None:
                compiled = [self.compile(child, (*loc, key, i)) for i, child in enumerate(children)]
                rank = max((r for _, r in compiled), default=_CHEAP)
                preds = tuple(p for p, _ in compiled)
                if key == "all":
                    parts.append((rank, _all(preds)))
                else:
                    parts.append((rank, _any(preds)))
        if cond.not_ is not None:
            inner, rank = self.compile(cond.not_, (*loc, "not"))
            parts.append((rank, lambda c, ev: not inner(c, None)))
        if cond.author is not None and cond.author.strikes is not None:
            # Strikes are read from the moderation casebook (a store query) only when a rule gets
            # this far: after its text, language and sentiment conditions held.
            test_strikes = compare(cond.author.strikes)
            parts.append((_STRIKES, lambda c, ev: test_strikes(c.strikes)))
        if cond.rate is not None:
            parts.append((_RATE, self._rate(cond.rate)))
        parts.sort(key=lambda part: part[0])
        preds = tuple(p for _, p in parts)
        top = max((r for r, _ in parts), default=_CHEAP)
        return _all(preds), top

    def _author(self, spec: AuthorCondition) -> list[Pred]:
        checks: list[Pred] = []
        if spec.role is not None:
            roles = frozenset(spec.role)
            checks.append(
                lambda c, ev: (c.staff and "staff" in roles) or not roles.isdisjoint(c.event.author.roles)
            )
        if spec.account_age is not None:
            test_age = compare(spec.account_age)

            def age(c: Context, evidence: list[Evidence] | None) -> bool:
                created = c.event.author.created_at
                # An unknown age never counts as new: no action on what we do not know.
                return created is not None and test_age((c.now - created).total_seconds())

            checks.append(age)
        if spec.followers is not None:
            test_followers = compare(spec.followers)
            checks.append(
                lambda c, ev: (
                    c.event.author.followers is not None and test_followers(c.event.author.followers)
                )
            )
        return checks

    def _time(self, spec: TimeCondition, loc: tuple[str | int, ...]) -> Pred:
        zone = _zone(spec.tz or self.hours.tz, self.report, (*loc, "tz"))
        days = frozenset(WEEKDAYS.index(d) for d in spec.days) if spec.days else frozenset(range(7))
        start = _clock(spec.between[0]) if spec.between else None
        end = _clock(spec.between[1]) if spec.between else None
        return lambda c, ev: _within(c.now, zone, days, start, end)

    def _business_hours(self, inside: bool, loc: tuple[str | int, ...]) -> Pred:
        hours = self.hours
        zone = _zone(hours.tz, self.report, loc)
        days = frozenset(WEEKDAYS.index(d) for d in hours.days)
        start, end = _clock(hours.start), _clock(hours.end)
        return lambda c, ev: _within(c.now, zone, days, start, end) == inside

    def _rate(self, spec: RateCondition) -> Pred:
        count, window, per = spec.count, spec.within, spec.per
        prefix = f"{self.rule_id}:{per}:"

        def rate(c: Context, evidence: list[Evidence] | None) -> bool:
            event = c.event
            if per == "author":
                subject = f"{event.source}:{event.author.id}"
            elif per == "channel":
                subject = f"{event.source}:{event.channel or '-'}"
            elif per == "conversation":
                subject = event.conversation_key
            else:
                subject = event.source
            return c.counter.hit(prefix + subject, window, c.now) >= count

        return rate

    def _text(self, spec: TextCondition, loc: tuple[str | int, ...]) -> Pred:
        terms: list[str] = []
        for index, word in enumerate(spec.words):
            if word.startswith("@"):
                listed = self.lists(word[1:])
                if listed is None:
                    self.report(
                        (*loc, "words", index), f"unknown word list {word!r} (no lists/{word[1:]}.txt)"
                    )
                else:
                    terms.extend(listed)
            else:
                terms.append(word)
        mids: list[int] = []
        if terms:
            mid = self.engine.new_id()
            for gone in self.engine.add_terms(mid, terms, spec.mode, spec.normalize):
                self.report((*loc, "words"), f"term {gone!r} is empty once normalised ({spec.normalize})")
            mids.append(mid)
        if spec.regex:
            mid = self.engine.new_id()
            for index, pattern in enumerate(spec.regex):
                where = (*loc, "regex", index)
                try:
                    self.engine.add_regex(mid, pattern, spec.normalize)
                except RegexRefused as exc:
                    self.report(where, str(exc))
                    continue
                self._check_regex_view(pattern, spec, where)
            mids.append(mid)
        self.matcher_ids.extend(mids)
        self.text_matchers[loc] = (tuple(mids), bool(spec.detect))
        detectors: list[Detector] = []
        for name in spec.detect:
            detectors.extend(PII if name == "pii" else (name,))
        views = {mid: spec.normalize for mid in mids}
        found_detectors = tuple(dict.fromkeys(detectors))
        matched_ids = tuple(mids)
        view = spec.normalize

        if len(matched_ids) == 1 and not found_detectors:
            # The usual shape (one list of terms): no loops.
            only = matched_ids[0]

            def words(c: Context, evidence: list[Evidence] | None) -> bool:
                found = (c._hits if c._hits is not None else c.hits).get(only)
                if not found:
                    return False
                if evidence is not None:
                    evidence.extend([Evidence(view, h.start, h.end, h.tokens, h.term) for h in found])
                return True

            return words

        if not matched_ids and len(found_detectors) == 1:
            kind = found_detectors[0]

            def detected(c: Context, evidence: list[Evidence] | None) -> bool:
                spans = c.detections(kind)
                if not spans:
                    return False
                if evidence is not None:
                    evidence.extend([Evidence("clean", start, end, False, kind) for start, end in spans])
                return True

            return detected

        if not matched_ids:
            # Several detectors (`pii`): their character and digit tests inline, so the usual
            # message, with no `@` and few digits, costs no call per detector.
            checks = tuple((kind, *runner(kind)[:2]) for kind in found_detectors)

            def detected_any(c: Context, evidence: list[Evidence] | None) -> bool:
                clean = c._clean if c._clean is not None else c.view("clean")
                fired = False
                for kind, need_digits, need_char in checks:
                    if (need_char and need_char not in clean) or (need_digits and c.digits < need_digits):
                        continue  # what `Context.detections` would find: nothing
                    spans = c.detections(kind)
                    if spans:
                        if evidence is None:
                            return True
                        evidence.extend([Evidence("clean", start, end, False, kind) for start, end in spans])
                        fired = True
                return fired

            return detected_any

        def text(c: Context, evidence: list[Evidence] | None) -> bool:
            fired = False
            if matched_ids:
                hits = c._hits if c._hits is not None else c.hits
                for mid in matched_ids:
                    found = hits.get(mid)
                    if found:
                        if evidence is None:
                            return True
                        evidence.extend(Evidence(views[mid], h.start, h.end, h.tokens, h.term) for h in found)
                        fired = True
            for kind in found_detectors:
                spans = c.detections(kind)
                if spans:
                    if evidence is None:
                        return True
                    evidence.extend(Evidence("clean", start, end, False, kind) for start, end in spans)
                    fired = True
            return fired

        return text

    def _check_regex_view(self, pattern: str, spec: TextCondition, loc: tuple[str | int, ...]) -> None:
        """A regex written for the raw text can never match the lower-case, accent-free views."""
        if spec.normalize == "none" or "(?i" in pattern:
            return
        literal = _REGEX_CASE_HINT.sub("", pattern)
        bad = sorted({ch for ch in literal if ch.isupper() or (ch.isalpha() and not ch.isascii())})
        if bad:
            self.report(
                loc,
                f"regex has {''.join(bad)!r} but the {spec.normalize} view is lower case without accents:"
                " write it that way, or set normalize: none",
            )


def _rating(spec: Compare | int | list[int]) -> Pred:
    if isinstance(spec, Compare):
        bound = single_bound(spec)
        if bound is not None:
            op, value = bound
            return lambda c, ev: (rating := c.event.rating) is not None and op(rating, value)
        test = compare(spec)
        return lambda c, ev: c.event.rating is not None and test(c.event.rating)
    ratings = frozenset([spec] if isinstance(spec, int) else spec)
    return lambda c, ev: c.event.rating in ratings


def _sentiment(spec: Compare) -> Pred:
    bound = single_bound(spec)
    if bound is not None:
        op, value = bound
        return lambda c, ev: op(c.sentiment, value)
    test = compare(spec)
    return lambda c, ev: test(c.sentiment)


def _all(preds: tuple[Pred, ...]) -> Pred:
    # Unrolled for the usual sizes, plain loops beyond: all()/any() over a generator cost more
    # than the predicates themselves.
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda c, ev: first(c, ev) and second(c, ev)
    if len(preds) == 3:
        one, two, three = preds
        return lambda c, ev: one(c, ev) and two(c, ev) and three(c, ev)

    def all_of(c: Context, evidence: list[Evidence] | None) -> bool:
        for pred in preds:  # noqa: SIM110
            if not pred(c, evidence):
                return False
        return True

    return all_of


def _any(preds: tuple[Pred, ...]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda c, ev: first(c, ev) or second(c, ev)

    def any_of(c: Context, evidence: list[Evidence] | None) -> bool:
        for pred in preds:  # noqa: SIM110
            if pred(c, evidence):
                return True
        return False

    return any_of
