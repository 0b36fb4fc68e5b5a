"""Normalisation views: the same text seen the way a rule wants to see it.

`none` is the text as written. `clean` undoes what costs an evader nothing: compatibility forms
(NFKC), zero-width and bidi controls, homoglyphs from other scripts (Unicode TR39 confusables),
accents, case. `aggressive` also undoes deliberate obfuscation: letters spaced or dotted apart,
leetspeak inside words, letters stretched three times or more. List terms go through the same view
as the text, so `connard` and `c0nnard` meet in the middle.

Squeezing keeps doubled letters: `baisse` is a word of its own, not a stretched `baise`. Terms get
a variant with each double collapsed instead (see `term_variants`), so `cooonnnard` still meets
`connard`.

`trace` redoes a view with each output character's source offset, slowly, to show admins which
part of the original text matched; evaluation never needs it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from importlib import resources
from itertools import product
from typing import Literal

View = Literal["none", "clean", "aggressive"]
VIEWS: tuple[View, ...] = ("none", "clean", "aggressive")

_FIXED: dict[str, str] = {
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
    "ø": "o",
    "đ": "d",
    "ł": "l",
    "ı": "i",
    "ĸ": "k",
    "ſ": "s",
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u2032": "'",
    "`": "'",
    "´": "'",
    "\u201c": '"',
    "\u201d": '"',
    "«": '"',
    "»": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
}


@cache
def _confusables() -> dict[str, str]:
    """Non-ASCII characters that pass for one ASCII letter or digit, letters preferred."""
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    table: dict[str, str] = {}
    for char, entries in json.loads(raw).items():
        if len(char) != 1 or char.isascii():
            continue
        targets = [e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()]
        if targets:
            letters = [t for t in targets if t.isalpha()]
            table[char] = (letters or targets)[0].lower()
    return table


def _clean_char(char: str) -> str | None:
    if char in _FIXED:
        return _FIXED[char]
    category = unicodedata.category(char)
    if category in ("Cf", "Mn", "Me", "Cc") and char not in "\t\n\r":
        return None  # zero-width, bidi, soft hyphen, variation selectors, stray accents
    if category.startswith("Z") or char in "\t\n\r":
        return " "
    # Homoglyphs first: NFKC and casefolding can turn one into another letter (lunate sigma
    # into final sigma). NFKC per character equals NFKC of the text here, since the combining
    # marks it would compose are dropped anyway.
    char = _confusables().get(char, char)
    out = []
    for part in unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char).casefold()):
        if unicodedata.category(part) in ("Mn", "Me"):
            continue
        part = _FIXED.get(part, part)
        if not part.isascii():
            part = _confusables().get(part, part).casefold()
        out.append(part)
    return "".join(out)


class _CleanTable(dict[int, "str | None"]):
    """A lazily filled `str.translate` table: each code point is worked out once per process."""

    def __missing__(self, code: int) -> str | None:
        value = _clean_char(chr(code))
        self[code] = value
        return value


_TABLE = _CleanTable()
_SPACES = re.compile(r"\s{2,}")


# The ASCII characters the full cleaning changes beyond lower-casing: controls (dropped) and the
# backtick (the confusables table reads it as an apostrophe). Text holding none takes the fast path.
_ASCII_SLOW = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f`]")


def clean(text: str) -> str:
    # ASCII fast path, unless the text holds one of the few ASCII characters cleaning changes (a
    # control hidden in a word, "con\x01nard", is dropped like a zero-width character).
    plain = text.isascii() and not _ASCII_SLOW.search(text)
    lowered = text.lower() if plain else text.translate(_TABLE)
    if "  " in lowered or "\n" in lowered or "\t" in lowered or "\r" in lowered:
        lowered = _SPACES.sub(" ", lowered.replace("\n", " ").replace("\t", " ").replace("\r", " "))
    return lowered.strip()


# Single letters split by spaces, dots, dashes, underscores or stars: "c o n n a r d", "c.o.n".
_SPACED = re.compile(r"(?<![a-z0-9@$])[a-z0-9@$](?:[ .\-_*·]{1,2}[a-z0-9@$](?![a-z0-9@$])){2,}")
_SEPARATORS = re.compile(r"[ .\-_*·]")
# A token holding a leet character: digits and symbols inside a word, never a bare number.
_LEET_TOKEN = re.compile(r"(?<![a-z0-9@$€])[a-z0-9@$€]+(?:[!|+][a-z0-9@$€]+)*")
# Cheap tests first: most messages have no letter touching a digit or symbol, and skip the rest.
# A bare character-class search is several times faster than the two-character hint, and two
# messages in three have no such character at all.
_LEET_CHAR = re.compile(r"[0-9@$€!|+]")
_LEET_HINT = re.compile(r"[a-z][0-9@$€]|[0-9@$€!|+][a-z]")
# What `_SPACED` cannot match without: its middle letter, with a separator on each side.
_SPACED_HINT = re.compile(r"[ .\-_*·][a-z0-9@$][ .\-_*·]")
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "€": "e",
        "!": "i",
        "|": "i",
        "+": "t",
    }
)
_HAS_LETTER = re.compile(r"[a-z]")
_HAS_LEET = re.compile(r"[0-9@$€!|+]")
_STRETCHED = re.compile(r"(.)\1{2,}")
_STRETCHED_HINT = re.compile(r"(.)\1\1")


def _join(match: re.Match[str]) -> str:
    return _SEPARATORS.sub("", match.group())


def _deleet(match: re.Match[str]) -> str:
    token = match.group()
    if _HAS_LETTER.search(token) and _HAS_LEET.search(token):
        return token.translate(_LEET)
    return token


def _squeeze(match: re.Match[str]) -> str:
    return match.group(1)


_AGGRESSIVE_STEPS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_SPACED, _join),
    (_LEET_TOKEN, _deleet),
    (_STRETCHED, _squeeze),
)


def unsqueezed_from_clean(cleaned: str) -> str:
    """The aggressive view before stretched letters are squeezed."""
    if _SPACED_HINT.search(cleaned):
        cleaned = _SPACED.sub(_join, cleaned)
    if _LEET_CHAR.search(cleaned) and _LEET_HINT.search(cleaned):
        cleaned = _LEET_TOKEN.sub(_deleet, cleaned)
    return cleaned


def squeeze(text: str) -> str:
    return _STRETCHED.sub(_squeeze, text) if _STRETCHED_HINT.search(text) else text


def aggressive_from_clean(cleaned: str) -> str:
    return squeeze(unsqueezed_from_clean(cleaned))


def aggressive(text: str) -> str:
    return aggressive_from_clean(clean(text))


_NON_WORD = re.compile(r"[\W_]+")
# ASCII letters and digits kept, every other byte a space: for ASCII text (most clean views) a
# byte translation and a split do in C what the regex does, three times faster.
_ASCII_WORDS = bytes(b if b < 128 and chr(b).isalnum() else 32 for b in range(256))


def tokens_view(text: str) -> str:
    """Words only, one space between them: what `phrase` matching reads."""
    if text.isascii():
        return " ".join(text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split())
    return _NON_WORD.sub(" ", text).strip()


def normalize(text: str, view: View) -> str:
    if view == "none":
        return text
    if view == "clean":
        return clean(text)
    return aggressive(text)


_DOUBLE = re.compile(r"([a-z])\1")


def term_variants(term: str, view: View) -> tuple[tuple[str, str | None], ...]:
    """The forms of a list term to look for in a view of a text, each with, for a squeezed form,
    the regex its unsqueezed source must match.

    In the aggressive view a stretched letter (three or more) is squeezed to one, so each doubled
    letter of a term also gets its single form, `cooonnnard` meeting `connard`. That form alone
    would also meet real words (`fagot` for `faggot`), so it counts only where the text really had
    that letter stretched: the returned regex says so. Capped, since `2**k` grows fast."""
    base = normalize(term, view)
    if not base:
        return ()
    if view != "aggressive":
        return ((base, None),)
    doubles = list(_DOUBLE.finditer(base))[:4]
    variants: dict[str, str | None] = {base: None}
    for choice in product((False, True), repeat=len(doubles)):
        if not any(choice):
            continue
        out: list[str] = []
        pattern: list[str] = []
        last = 0
        for collapse, found in zip(choice, doubles, strict=True):
            out.append(base[last : found.start()])
            pattern.extend(re.escape(ch) + "+" for ch in base[last : found.start()])
            out.append(found.group(1) if collapse else found.group())
            pattern.append(re.escape(found.group(1)) + ("{3,}" if collapse else "{2,}"))
            last = found.end()
        out.append(base[last:])
        pattern.extend(re.escape(ch) + "+" for ch in base[last:])
        variants.setdefault("".join(out), "".join(pattern))
    return tuple(variants.items())


# --- tracing, for --explain only -----------------------------------------------------------------


def _trace_clean(text: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        folded = char.translate(_TABLE)
        for out in folded:
            chars.append(out)
            offsets.append(index)
    # Collapse whitespace the way `clean` does, keeping the first offset of each run.
    joined: list[str] = []
    kept: list[int] = []
    for char, offset in zip(chars, offsets, strict=True):
        if char.isspace():
            if not joined or joined[-1] == " ":
                continue
            char = " "
        joined.append(char)
        kept.append(offset)
    while joined and joined[-1] == " ":
        joined.pop()
        kept.pop()
    return "".join(joined), kept


def _trace_sub(
    pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], text: str, offsets: list[int]
) -> tuple[str, list[int]]:
    out: list[str] = []
    out_offsets: list[int] = []
    last = 0
    for found in pattern.finditer(text):
        out.append(text[last : found.start()])
        out_offsets.extend(offsets[last : found.start()])
        replacement = repl(found)
        out.append(replacement)
        span = offsets[found.start() : found.end()] or [offsets[found.start()] if offsets else 0]
        out_offsets.extend(span[min(i, len(span) - 1)] for i in range(len(replacement)))
        last = found.end()
    out.append(text[last:])
    out_offsets.extend(offsets[last:])
    return "".join(out), out_offsets


def trace(text: str, view: View, *, tokens: bool = False) -> tuple[str, list[int]]:
    """The view of `text` and, for each of its characters, the offset it came from in `text`."""
    if view == "none":
        result, offsets = text, list(range(len(text)))
    else:
        result, offsets = _trace_clean(text)
        if view == "aggressive":
            for pattern, repl in _AGGRESSIVE_STEPS:
                result, offsets = _trace_sub(pattern, repl, result, offsets)
    if tokens:
        result, offsets = _trace_sub(_NON_WORD, lambda _m: " ", result, offsets)
        start = len(result) - len(result.lstrip())
        result, offsets = result.strip(), offsets[start : start + len(result.strip())]
    return result, offsets


def original_span(text: str, view: View, start: int, end: int, *, tokens: bool = False) -> str:
    """The part of `text` that became `view_text[start:end]`."""
    _, offsets = trace(text, view, tokens=tokens)
    if not offsets or start >= len(offsets):
        return ""
    first = offsets[start]
    stop = offsets[min(end, len(offsets)) - 1] + 1
    while stop < len(text) and unicodedata.category(text[stop]) in ("Mn", "Me", "Cf"):
        stop += 1  # keep a decomposed accent or a zero-width tail with its letter
    return text[first:stop]
