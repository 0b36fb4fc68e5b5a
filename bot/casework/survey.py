"""The `survey:` section of vigie.yaml, the question's text per language, and the parser that
recognises a customer's 1–5 answer. Pure: `bot.workspace` imports this module, so it imports only
pydantic and `bot.durations` (the store-facing side is `bot.casework.survey_flow`).

    survey:
      enabled: true
      answer_within: 7d     # a rating sent later is an ordinary message
      question:
        fr: "…de 1 à 5…"
        en: "…from 1 to 5…"
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurveyQuestion(Strict):
    fr: str = Field(
        default=(
            "Votre demande est résolue. Êtes-vous satisfait·e de notre aide ? "
            "Répondez par une note de 1 (pas du tout) à 5 (tout à fait)."
        ),
        min_length=1,
        max_length=1000,
    )
    en: str = Field(
        default=(
            "Your request is resolved. How satisfied are you with our help? "
            "Reply with a number from 1 (not at all) to 5 (very satisfied)."
        ),
        min_length=1,
        max_length=1000,
    )


class SurveyConfig(Strict):
    enabled: bool = Field(
        default=False, description="Ask the customer for a 1–5 rating when a case is resolved."
    )
    question: SurveyQuestion = Field(default_factory=SurveyQuestion)
    answer_within: Duration = Field(
        default=timedelta(days=7), description="A rating received later than this is an ordinary message."
    )

    def question_for(self, lang: str) -> str:
        return self.question.fr if lang == "fr" else self.question.en


def survey_lang(*candidates: str | None, default: str) -> str:
    """The first candidate the question exists in (the customer's declared language, then the
    detected one), else the workspace's."""
    for lang in candidates:
        if lang in ("fr", "en"):
            return lang
    return default


# -- answers --------------------------------------------------------------------------------------

_WORDS = {
    "un": 1, "une": 1, "one": 1,
    "deux": 2, "two": 2,
    "trois": 3, "three": 3,
    "quatre": 4, "four": 4,
    "cinq": 5, "five": 5,
}  # fmt: skip
_LEAD = (
    r"(?:(?:ma\s+)?note\s*:?|rating\s*:?|score\s*:?|je\s+(?:mets|donne)"
    r"|i\s+(?:give|rate)(?:\s+(?:it|you|us))?|i'?d\s+give(?:\s+(?:it|you|us))?)?"
)
_NUMBER = r"(?P<n>[1-5]|" + "|".join(_WORDS) + r")"
_SCALE = r"(?:\s*(?:/|sur|out\s+of|of)\s*5)?"
_UNIT = r"(?:\s*(?:étoiles?|etoiles?|stars?|[★⭐]))?"
# Politeness after the rating does not make it a new request: "4/5 merci !" is still an answer.
_TAIL = r"\s*[.!?,;:)]*\s*(?:(?:merci(?:\s+beaucoup)?|thanks?(?:\s+you)?|thx)\s*[.!?)]*)?\s*"
_RATING = re.compile(rf"\s*{_LEAD}\s*{_NUMBER}{_SCALE}{_UNIT}{_SCALE}{_TAIL}")
_STARS = re.compile(rf"\s*(?P<stars>[★☆⭐✩\s]+?){_TAIL}")
_FILLED = frozenset("★⭐")


def parse_rating(text: str) -> int | None:
    """The 1–5 rating a short reply gives ("4", "4/5", "5 étoiles", "★★★★☆", "four stars, thanks"),
    or None when the text says anything else: a message that merely contains a digit ("I ordered
    4 items") is not an answer."""
    if len(text) > 60:
        return None
    # NFKC folds full-width digits; the keycap emoji 4️⃣ is a digit followed by two marks.
    clean = unicodedata.normalize("NFKC", text).replace("\ufe0f", "").replace("\u20e3", "").casefold()
    match = _RATING.fullmatch(clean)
    if match:
        word = match.group("n")
        return int(word) if word.isdigit() else _WORDS[word]
    match = _STARS.fullmatch(clean)
    if match:
        stars = match.group("stars").replace(" ", "")
        filled = sum(1 for c in stars if c in _FILLED)
        if 1 <= filled <= 5 and len(stars) <= 5:
            return filled
    return None
