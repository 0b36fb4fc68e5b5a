"""Many terms, one pass: every list term of every rule sits in one Aho-Corasick automaton per view,
and every regex in one RE2 `Set` per view.

Terms are matched on the view's words (runs of letters and digits, one space between), so
punctuation and spacing never split a phrase and `word`, `phrase`, `prefix` and `substring` modes
all read the same pass; `exact` compares the whole view; regexes read the view itself.

A scan of a text reports, per matcher, where it matched. Word boundaries are checked in Python on
the view text with `str.isalnum`, which knows every script: RE2's `\\b` is ASCII-only and misses
terms that start or end with an accented letter (see FIELD-NOTES). Scanning costs about the same
for 100 terms as for 10,000, which a loop of regexes cannot do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import combinations
from typing import Any, Literal, NamedTuple

import ahocorasick
import re2

from bot.rulebook.normalize import View, term_variants, tokens_view

Mode = Literal["word", "substring", "prefix", "exact", "phrase"]
MODES: tuple[Mode, ...] = ("word", "substring", "prefix", "exact", "phrase")

_WORD, _SUBSTRING, _PREFIX = 0, 1, 2


class Hit(NamedTuple):
    """One match in a view: the view text span and the term or pattern that matched there."""

    start: int
    end: int
    term: str
    tokens: bool = False


class RegexRefused(ValueError):
    """RE2 cannot run this pattern in linear time (backreference, lookaround...) or it is invalid."""


def compile_regex(pattern: str) -> Any:
    options = re2.Options()
    options.max_mem = 8 << 20  # a pathological pattern fails to compile instead of eating memory
    options.log_errors = False  # the error goes to the admin, located, not to stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexRefused(f"regex {pattern!r} refused by RE2 (linear-time regexes only): {reason}") from None


@dataclass
class _ViewIndex:
    """All matchers that read one view of the text."""

    view: View
    words: dict[str, list[tuple[int, int, str, str | None]]] = field(default_factory=dict)
    exact: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    patterns: list[tuple[int, str]] = field(default_factory=list)
    automaton: ahocorasick.Automaton | None = None
    regex_set: re2.Set | None = None
    compiled: list[tuple[int, str, Any]] = field(default_factory=list)

    def build(self) -> None:
        self.automaton = _automaton(self.words)
        if self.patterns:
            options = re2.Options()
            options.log_errors = False
            regex_set = re2.Set.SearchSet(options)
            for _, pattern in self.patterns:
                regex_set.Add(pattern)
            regex_set.Compile()
            self.regex_set = regex_set
            self.compiled = [(mid, p, compile_regex(p)) for mid, p in self.patterns]

    def scan(self, text: str, found: dict[int, list[Hit]], unsqueezed: Callable[[], str] | None) -> None:
        if self.automaton is not None:
            _scan_automaton(self.automaton, tokens_view(text), found, unsqueezed, tokens=True)
        self.scan_rest(text, found)

    def scan_rest(self, text: str, found: dict[int, list[Hit]]) -> None:
        """The exact terms and regexes: what reads the view itself rather than its words."""
        if self.exact:
            for mid, term in self.exact.get(text.strip(), ()):
                found.setdefault(mid, []).append(Hit(0, len(text), term))
        if self.regex_set is not None:
            for index in self.regex_set.Match(text) or ():
                mid, pattern, regex = self.compiled[index]
                m = regex.search(text)
                if m is not None:
                    found.setdefault(mid, []).append(Hit(m.start(), m.end(), pattern))


def _automaton(
    entries: dict[str, list[tuple[int, int, str, str | None]]],
) -> ahocorasick.Automaton | None:
    if not entries:
        return None
    automaton = ahocorasick.Automaton()
    for key, payload in entries.items():
        automaton.add_word(key, (len(key), tuple(payload)))
    automaton.make_automaton()
    return automaton


def _scan_automaton(
    automaton: ahocorasick.Automaton,
    text: str,
    found: dict[int, list[Hit]],
    unsqueezed: Callable[[], str] | None,
    *,
    tokens: bool,
) -> None:
    size = len(text)
    for end_index, (length, payload) in automaton.iter(text):
        start = end_index - length + 1
        end = end_index + 1
        left = start == 0 or not text[start - 1].isalnum()
        right = end == size or not text[end].isalnum()
        for mid, kind, term, stretched in payload:
            if kind == _SUBSTRING or (left and (kind == _PREFIX or right)):
                if stretched is not None and not _really_stretched(stretched, unsqueezed):
                    continue
                found.setdefault(mid, []).append(Hit(start, end, term, tokens))


@cache
def _stretch_regex(pattern: str) -> Any:
    # RE2, not `re`: patterns like c+o+n{3,}a+r+d+ backtrack quadratically in `re` over a long
    # run of the same letters (a crafted 40k-character comment held a worker for seconds).
    return re2.compile(pattern)


def _really_stretched(pattern: str, unsqueezed: Callable[[], str] | None) -> bool:
    return unsqueezed is not None and _stretch_regex(pattern).search(unsqueezed()) is not None


class MatchEngine:
    """Compiled text matchers. A matcher id stands for one `text:` condition of one rule."""

    def __init__(self) -> None:
        self._views: dict[View, _ViewIndex] = {}
        self._merged: dict[tuple[View, ...], ahocorasick.Automaton | None] = {}
        self._worded: tuple[View, ...] = ()  # views with list terms, in order
        self._rest: tuple[_ViewIndex, ...] = ()  # views with exact terms or regexes
        self._next = 0
        self.built = False

    def _index(self, view: View) -> _ViewIndex:
        return self._views.setdefault(view, _ViewIndex(view))

    def new_id(self) -> int:
        self._next += 1
        return self._next

    def add_terms(self, mid: int, terms: Iterable[str], mode: Mode, view: View) -> list[str]:
        """Add list terms; returns the terms that vanish in this view (nothing left to match)."""
        index = self._index(view)
        empty: list[str] = []
        for term in terms:
            variants = term_variants(term, view)
            if not variants:
                empty.append(term)
                continue
            for variant, stretched in variants:
                if mode == "exact":
                    if stretched is None:
                        index.exact.setdefault(variant, []).append((mid, term))
                    continue
                # Terms and text are both read as words separated by single spaces: one pass
                # serves every mode, and `nique, ta mère` meets `nique ta mère`.
                key = tokens_view(variant)
                if not key:
                    empty.append(term)
                    continue
                kind = {"word": _WORD, "phrase": _WORD, "substring": _SUBSTRING, "prefix": _PREFIX}[mode]
                index.words.setdefault(key, []).append((mid, kind, term, stretched))
        return empty

    def add_regex(self, mid: int, pattern: str, view: View) -> None:
        compile_regex(pattern)
        self._index(view).patterns.append((mid, pattern))

    def build(self) -> None:
        for index in self._views.values():
            index.build()
        # Most messages read the same in several views (no leetspeak: clean == aggressive). One
        # automaton per combination of views holds all their terms, so such a message gets one
        # tokenisation and one pass instead of one per view; each term keeps its own matchers.
        worded = [view for view, index in self._views.items() if index.words]
        self._worded = tuple(worded)
        self._rest = tuple(index for index in self._views.values() if index.exact or index.patterns)
        self._merged = {(view,): self._views[view].automaton for view in worded}
        for size in range(2, len(worded) + 1):
            for group in combinations(worded, size):
                entries: dict[str, list[tuple[int, int, str, str | None]]] = {}
                for view in group:
                    for key, payload in self._views[view].words.items():
                        entries.setdefault(key, []).extend(payload)
                self._merged[group] = _automaton(entries)
        self.built = True

    @property
    def views(self) -> tuple[View, ...]:
        return tuple(self._views)

    def scan(
        self, view: View, text: str, found: dict[int, list[Hit]], unsqueezed: Callable[[], str] | None = None
    ) -> None:
        """Add the hits of every matcher on `view` in `text` (already in that view) to `found`.
        `unsqueezed` gives the aggressive view before squeezing, asked only to confirm a squeezed hit."""
        index = self._views.get(view)
        if index is not None:
            index.scan(text, found, unsqueezed)

    def scan_views(
        self, text_of: Callable[[View], str], unsqueezed: Callable[[], str] | None
    ) -> tuple[dict[int, list[Hit]], dict[View, str]]:
        """The hits of every matcher on every view, views that read the same text scanned
        together, and the words-only form of each view text that was tokenised (for evidence)."""
        found: dict[int, list[Hit]] = {}
        for index in self._rest:
            index.scan_rest(text_of(index.view), found)
        worded = self._worded
        if len(worded) == 2:  # the usual case (clean and aggressive), without the grouping
            first, second = worded
            text = text_of(first)
            if text == text_of(second):
                tokens = tokens_view(text)
                _scan_automaton(self._merged[worded], tokens, found, unsqueezed, tokens=True)
                return found, {first: tokens, second: tokens}
        by_text: dict[str, list[View]] = {}
        for view in worded:
            by_text.setdefault(text_of(view), []).append(view)
        words: dict[View, str] = {}
        for text, views in by_text.items():
            tokens = tokens_view(text)
            automaton = self._merged[tuple(views)]
            assert automaton is not None
            _scan_automaton(automaton, tokens, found, unsqueezed, tokens=True)
            for view in views:
                words[view] = tokens
        return found, words
