"""What rules ask about one event, each thing worked out at most once and only when first asked.

A rulebook with no `lang:` or `sentiment:` condition never pays for language detection or
sentiment; the text views a rulebook reads are scanned once, for all its rules together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.events import Event
from bot.rulebook import language, sentiment
from bot.rulebook.detectors import Detector, Span, count_digits, runner
from bot.rulebook.matchers import Hit, MatchEngine
from bot.rulebook.normalize import (
    View,
    aggressive_from_clean,
    clean,
    original_span,
    tokens_view,
    unsqueezed_from_clean,
)
from bot.rulebook.windows import WindowCounter

# Shared by every detection that found nothing: read, never appended to.
_NONE: list[Span] = []


@dataclass(slots=True)
class Evidence:
    """Where a text condition matched: a span of one view of the text."""

    view: View
    start: int
    end: int
    tokens: bool
    label: str


class Context:
    __slots__ = (
        "_clean",
        "_detections",
        "_digits",
        "_hits",
        "_lang",
        "_sentiment",
        "_strikes",
        "_tokens",
        "_views",
        "_words",
        "counter",
        "engine",
        "event",
        "now",
        "staff",
    )

    def __init__(
        self,
        event: Event,
        engine: MatchEngine,
        *,
        now: datetime,
        counter: WindowCounter,
        strikes: int | Callable[[], int] = 0,
        staff: bool = False,
    ) -> None:
        self.event = event
        self.engine = engine
        self.now = now
        self.counter = counter
        self._strikes = strikes
        self.staff = staff
        self._clean: str | None = None
        self._views: dict[View, str] = {}
        self._hits: dict[int, list[Hit]] | None = None
        self._tokens: dict[View, str] = {}
        self._detections: dict[Detector, list[Span]] = {}
        self._digits: int | None = None
        self._words: list[str] | None = None
        self._lang: str | None = event.lang
        self._sentiment: float | None = None

    @property
    def strikes(self) -> int:
        """The author's prior strikes; a callable source (a store query) is asked once, on first use."""
        if callable(self._strikes):
            self._strikes = self._strikes()
        return self._strikes

    def view(self, view: View) -> str:
        text = self._views.get(view)
        if text is None:
            if view == "none":
                text = self.event.text
            elif view == "clean":
                text = self._clean = clean(self.event.text)
            else:
                text = aggressive_from_clean(self.view("clean"))
            self._views[view] = text
        return text

    @property
    def hits(self) -> dict[int, list[Hit]]:
        """Every matcher's hits, all views scanned in one go on first use."""
        if self._hits is None:
            self._hits, self._tokens = self.engine.scan_views(self.view, self._unsqueezed)
        return self._hits

    def _unsqueezed(self) -> str:
        return unsqueezed_from_clean(self.view("clean"))

    def detections(self, kind: Detector) -> list[Span]:
        spans = self._detections.get(kind)
        if spans is None:
            text = self._clean if self._clean is not None else self.view("clean")
            need_digits, need_char, run = runner(kind)
            # `detect`'s cheap tests, with the digit count worked out once per event and only
            # when a character test did not already settle it.
            if (need_char and need_char not in text) or (need_digits and self.digits < need_digits):
                spans = _NONE
            else:
                spans = run(text)
            self._detections[kind] = spans
        return spans

    @property
    def digits(self) -> int:
        if self._digits is None:
            self._digits = count_digits(self._clean if self._clean is not None else self.view("clean"))
        return self._digits

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = language.tokens(self.view("clean"))
        return self._words

    @property
    def lang(self) -> str:
        if self._lang is None:
            self._lang = language.detect(self.event.text, self.words)
        return self._lang

    @property
    def lang_known(self) -> str | None:
        return self._lang

    @property
    def sentiment(self) -> float:
        if self._sentiment is None:
            lang = self.lang
            self._sentiment = sentiment.score(
                self.words, "fr" if lang == "fr" else "en", exclamations=self.event.text.count("!")
            )
        return self._sentiment

    @property
    def sentiment_known(self) -> float | None:
        return self._sentiment

    def normalized(self, evidence: Evidence) -> str:
        if evidence.tokens:
            # The scan already tokenised this view: reuse its words rather than redo them.
            text = self._tokens.get(evidence.view)
            if text is None:
                text = self._tokens[evidence.view] = tokens_view(self.view(evidence.view))
        else:
            text = self.view(evidence.view)
        return text[evidence.start : evidence.end]

    def original(self, evidence: Evidence) -> str:
        """The part of the event's own text that matched (slow: for explanations only)."""
        return original_span(
            self.event.text, evidence.view, evidence.start, evidence.end, tokens=evidence.tokens
        )
