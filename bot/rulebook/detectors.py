"""Built-in detectors for personal data and links, run on the clean view (lower case, no accents).

Each is a hand-written pattern with no nested quantifier (linear in practice) plus, where a
checksum exists, the checksum: a card number must pass Luhn and an IBAN mod 97, which removes
most order and tracking numbers. A cheap character test skips each detector on text that cannot
hold what it looks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

Detector = Literal["email", "phone", "iban", "card", "address", "link", "invite"]
DETECTORS: tuple[Detector, ...] = ("email", "phone", "iban", "card", "address", "link", "invite")
# `pii` is shorthand for every detector of personal data.
PII: tuple[Detector, ...] = ("email", "phone", "iban", "card", "address")

Span = tuple[int, int]

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,24}\b")
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+|00)33[ .-]?\(?0?\)?[ .-]?[1-9](?:[ .-]?\d{2}){4}"  # France, international form
    r"|0[1-9](?:[ .-]?\d{2}){4}"  # France, national form
    r"|(?:\+1[ .-]?)?\(?[2-9]\d{2}\)?[ .-]\d{3}[ .-]\d{4}"  # US, written with separators
    r"|\+1[2-9]\d{9}"
    r"|(?:\+|00)(?!33|1)[1-9]\d{0,2}(?:[ .-]?\d){6,12}"  # elsewhere: a country code is required
    r")(?![\w])"
)
_IBAN = re.compile(r"(?<![a-z0-9])[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,3})?(?![a-z0-9])")
_CARD = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?!\d)")
_STREET = (
    r"(?:rue|avenue|av\.|bd|boulevard|chemin|allee|impasse|place|quai|route|cours|square|lotissement"
    r"|street|st\.?|avenue|ave\.?|road|rd\.?|boulevard|blvd\.?|lane|ln\.?|drive|dr\.?|court|ct\.?|way)"
)
_ADDRESS = re.compile(
    r"\b\d{1,5}(?: ?(?:bis|ter|[a-d]))?,? (?:"
    rf"(?:{_STREET}) (?:(?:de |du |des |de la |d'|l')?[a-z'-]{{2,}} ?){{1,4}}"  # 12 rue de la Paix
    rf"|(?:[a-z'-]{{2,}} ){{1,3}}{_STREET}(?![a-z])"  # 1600 Pennsylvania Avenue
    r")"
    r"|\b\d{5} (?:[a-z'-]{3,}(?:[ -][a-z'-]{2,}){0,2}) ?,? ?france\b"  # 75002 Paris, France
)
_LINK = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9-]{2,63}\.(?:com|net|org|fr|io|co|me|ly|gg|xyz|ru|info|biz|shop|top|click|link|site|online"
    r"|live|app|be|ch|ca|uk|de|eu|tk|cc|us)\b(?:/[^\s<>\"']*)?"
)
_INVITE = re.compile(
    r"\b(?:discord(?:app)?\.(?:gg|com/invite|io|me)|dsc\.gg|t\.me|telegram\.me|chat\.whatsapp\.com"
    r"|wa\.me|invite\.gg)/[\w-]+"
)


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _spans(pattern: re.Pattern[str], text: str) -> list[Span]:
    return [m.span() for m in pattern.finditer(text)]


def _cards(text: str) -> list[Span]:
    out = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and _luhn(digits):
            out.append(m.span())
    return out


def _ibans(text: str) -> list[Span]:
    return [m.span() for m in _IBAN.finditer(text) if _iban_ok(m.group())]


_NON_DIGITS = re.compile(r"\D+")
_ASCII_DIGITS = b"0123456789"


def count_digits(text: str) -> int:
    if text.isascii():  # deleting the digits' bytes in C: a fraction of the regex's cost
        return len(text) - len(text.encode("ascii").translate(None, _ASCII_DIGITS))
    return len(_NON_DIGITS.sub("", text))


# Per detector: the fewest digits a match needs, a character it cannot do without, the search.
_RUNNERS: dict[Detector, tuple[int, str, Callable[[str], list[Span]]]] = {
    "email": (0, "@", lambda t: _spans(_EMAIL, t)),
    "phone": (9, "", lambda t: _spans(_PHONE, t)),
    "iban": (10, "", _ibans),
    "card": (13, "", _cards),
    "address": (1, " ", lambda t: _spans(_ADDRESS, t)),
    "link": (0, ".", lambda t: _spans(_LINK, t)),
    "invite": (0, "/", lambda t: _spans(_INVITE, t)),
}


def runner(kind: Detector) -> tuple[int, str, Callable[[str], list[Span]]]:
    """The fewest digits `kind` needs, a character it cannot do without, and its search."""
    return _RUNNERS[kind]


def detect(kind: Detector, clean_text: str, digits: int | None = None) -> list[Span]:
    """Spans of `clean_text` where `kind` was found; `digits` is its digit count, if known."""
    need_digits, need_char, run = _RUNNERS[kind]
    if need_char and need_char not in clean_text:
        return []
    if need_digits and (digits if digits is not None else count_digits(clean_text)) < need_digits:
        return []
    return run(clean_text)
