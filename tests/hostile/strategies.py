"""Hypothesis strategies for hostile text: any Unicode (surrogate-free, as every door delivers it),
weighted towards what evaders and broken clients send: combining marks, zero-width and bidi
controls, right-to-left scripts, homoglyphs, leetspeak, spacing, stretched letters."""

from __future__ import annotations

from hypothesis import strategies as st

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"]
BIDI = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2069"]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0336", "\u20dd", "\u0489", "\ufe0f"]
RTL = ["ا", "ل", "ع", "ש", "ל", "ו", "ם", "ـ", "٣"]
HOMOGLYPHS = ["а", "о", "е", "с", "р", "і", "ο", "ϲ", "ｃ", "ｏ", "ℕ", "𝐚", "①", "ﬁ", "ß", "ǅ", "İ"]
EVASION = [" ", ".", "-", "_", "*", "·", "0", "1", "3", "4", "@", "$", "!", "|", "+", "€", "\n", "\t"]
LETTERS = list("connardidiotkysabc")

special = st.sampled_from(ZERO_WIDTH + BIDI + COMBINING + RTL + HOMOGLYPHS + EVASION + LETTERS)
any_char = st.characters(codec="utf-8")  # every code point a str can carry from JSON

hostile_text = st.lists(st.one_of(special, any_char, st.text(max_size=4)), max_size=60).map("".join)
"""Arbitrary Unicode text, half of it the characters that obfuscation is made of."""

ascii_controls = st.sampled_from([chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\x7f"])
