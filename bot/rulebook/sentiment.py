"""A sentiment score in [-1, 1] for French and English, offline, in a few microseconds.

One lexicon per language, looked up token by token on the clean view, with VADER's three rules that
matter most on reviews: a negator within three words flips and damps a valence, an intensifier
boosts the next word, and what follows `but` / `mais` outweighs what precedes it. The sum is
squashed like VADER's compound score.

English valences are VADER's own lexicon (vaderSentiment, MIT, read from the installed package).
French valences are textblob-fr's adjective lexicon (PDDL, shipped in data/fr_sentiment.txt)
plus the hand-written review vocabulary below, which the adjective lexicon lacks (nouns and verbs:
`arnaque`, `remboursez`, `adore`). The full VADER analyser is ~10x slower and English-only; its
agreement with this scorer is measured by benchmarks/rules.py --lang.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

from bot.rulebook.language import Lang
from bot.rulebook.normalize import clean


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FR_EXTRA: dict[str, float] = {
    "nul": -0.7,
    "nulle": -0.7,
    "nuls": -0.7,
    "arnaque": -0.9,
    "arnaqueurs": -0.9,
    "escroquerie": -0.9,
    "escrocs": -0.9,
    "honte": -0.8,
    "honteux": -0.8,
    "scandale": -0.8,
    "scandaleux": -0.8,
    "inadmissible": -0.8,
    "inacceptable": -0.8,
    "lamentable": -0.8,
    "catastrophique": -0.9,
    "catastrophe": -0.8,
    "pire": -0.8,
    "decu": -0.7,
    "decue": -0.7,
    "decevant": -0.7,
    "deception": -0.7,
    "casse": -0.5,
    "cassee": -0.5,
    "abime": -0.5,
    "abimee": -0.5,
    "defectueux": -0.6,
    "retard": -0.4,
    "probleme": -0.4,
    "problemes": -0.4,
    "panne": -0.5,
    "galere": -0.6,
    "fuyez": -0.9,
    "eviter": -0.5,
    "evitez": -0.7,
    "deteste": -0.8,
    "marre": -0.6,
    "colere": -0.7,
    "furieux": -0.8,
    "degoute": -0.8,
    "degoutant": -0.8,
    "inutile": -0.5,
    "incompetents": -0.8,
    "mensonge": -0.7,
    "menteurs": -0.8,
    "vol": -0.6,
    "voleurs": -0.8,
    "rembourser": -0.2,
    "remboursez": -0.4,
    "plainte": -0.5,
    "attente": -0.2,
    "perdu": -0.4,
    "jamais": 0.0,
    "malade": -0.6,
    "danger": -0.7,
    "dangereux": -0.7,
    "top": 0.6,
    "super": 0.6,
    "genial": 0.8,
    "geniale": 0.8,
    "bravo": 0.7,
    "merci": 0.4,
    "adore": 0.8,
    "j'adore": 0.8,
    "aime": 0.5,
    "recommande": 0.6,
    "recommander": 0.5,
    "parfait": 0.8,
    "parfaite": 0.8,
    "excellent": 0.8,
    "excellente": 0.8,
    "rapide": 0.4,
    "efficace": 0.5,
    "impeccable": 0.8,
    "satisfait": 0.6,
    "satisfaite": 0.6,
    "ravi": 0.7,
    "ravie": 0.7,
    "content": 0.5,
    "contente": 0.5,
    "agreable": 0.5,
    "qualite": 0.3,
    "sympa": 0.5,
    "felicitations": 0.7,
    "magnifique": 0.8,
    "bon": 0.4,
    "bonne": 0.4,
    "terrible": 0.4,
    "mauvais": -0.6,
    "mauvaise": -0.6,
    "horrible": -0.9,
    "lent": -0.4,
    "lente": -0.4,
}
_NEGATORS = _words(
    "pas jamais rien aucun aucune ni sans personne guere not no never none nobody nothing "
    "neither nor without cannot "
)
_BOOSTERS: dict[str, float] = {
    "tres": 0.3,
    "trop": 0.3,
    "vraiment": 0.3,
    "tellement": 0.3,
    "extremement": 0.4,
    "hyper": 0.3,
    "totalement": 0.3,
    "completement": 0.3,
    "absolument": 0.3,
    "very": 0.3,
    "really": 0.3,
    "so": 0.2,
    "extremely": 0.4,
    "totally": 0.3,
    "completely": 0.3,
    "absolutely": 0.3,
    "super": 0.2,
    "peu": -0.3,
    "assez": -0.1,
    "slightly": -0.3,
    "somewhat": -0.2,
    "barely": -0.4,
}
_BUT = frozenset(("but", "mais", "however", "cependant", "pourtant", "toutefois"))
_ALPHA = 15.0  # VADER's normalisation constant for its -4..4 valences
# The words with a role but no valence, folded into one table: (negator / `but` / neither, boost).
_NEGATES, _TURNS = 1, 2
_ROLES: dict[str, tuple[int, float]] = {
    word: (
        _NEGATES if word in _NEGATORS or word.endswith("n't") else _TURNS if word in _BUT else 0,
        _BOOSTERS.get(word, 0.0),
    )
    for word in (*_NEGATORS, *_BUT, *_BOOSTERS)
}


@cache
def _english() -> dict[str, float]:
    raw = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text("utf-8")
    lexicon: dict[str, float] = {}
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isalpha():
            lexicon[parts[0]] = float(parts[1])
    return lexicon


@cache
def _french() -> dict[str, float]:
    raw = resources.files("bot.rulebook").joinpath("data/fr_sentiment.txt").read_text("utf-8")
    lexicon: dict[str, float] = {}
    for line in raw.splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        form, polarity = line.split("\t", 1)
        lexicon.setdefault(clean(form), float(polarity) * 4)
    for word, value in _FR_EXTRA.items():
        lexicon[clean(word)] = value * 4
    return lexicon


def score(words: list[str], lang: Lang, *, exclamations: int = 0) -> float:
    """Compound sentiment of a tokenised clean text: -1 very negative, 0 neutral, 1 very positive."""
    lexicon = _french() if lang == "fr" else _english()
    total = 0.0
    before_but: float | None = None
    boost = 0.0
    negated_at = -10  # index of the last negator seen
    for index, word in enumerate(words):
        valence = lexicon.get(word)
        if valence is None:
            role = _ROLES.get(word)
            if role is None:  # most words: one lookup more, not four
                if word.endswith("n't"):
                    negated_at = index
                boost = 0.0
                continue
            kind, boost = role
            if kind == _NEGATES:
                negated_at = index
            elif kind == _TURNS:
                before_but = total
                total = 0.0
            continue
        if boost:
            valence += math.copysign(boost * 4 * 0.25, valence)
            boost = 0.0
        if index - negated_at <= 3:
            valence *= -0.74
        if word in _NEGATORS:
            negated_at = index
        total += valence
    if before_but is not None:
        total = total * 1.5 + before_but * 0.5
    if total and exclamations:
        total += math.copysign(min(exclamations, 4) * 0.292, total)
    return total / math.sqrt(total * total + _ALPHA)


def score_text(text: str, lang: Lang) -> float:
    from bot.rulebook.language import tokens

    return score(tokens(clean(text)), lang, exclamations=text.count("!"))
