from __future__ import annotations

import pytest

from bot.rulebook.normalize import aggressive, clean, original_span, term_variants, trace


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＣＯＮＮＡＲＤ", "connard"),  # NFKC: fullwidth
        ("𝐜𝐨𝐧𝐧𝐚𝐫𝐝", "connard"),  # NFKC: mathematical bold
        ("con\u200bnard", "connard"),  # zero-width space
        ("con\u00adnard", "connard"),  # soft hyphen
        ("con\u202enard", "connard"),  # bidi override
        ("соnnard", "connard"),  # Cyrillic о (homoglyph)
        ("ϲonnard", "connard"),  # Greek lunate sigma (homoglyph)
        ("enculé", "encule"),  # accents stripped
        ("ENCULÉ", "encule"),  # casefold
        ("Straße", "strasse"),  # casefold expands
        ("cœur", "coeur"),
        ("l’avis", "l'avis"),  # typographic apostrophe
        ("  deux   espaces\n", "deux espaces"),
    ],
)
def test_clean_view_undoes_each_step(text: str, expected: str) -> None:
    assert clean(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("c0nn4rd", "connard"),  # leetspeak digits
        ("$h1t", "shit"),  # leetspeak symbols
        ("b!tch", "bitch"),  # ! inside a word
        ("coooonnnard", "conard"),  # stretched letters squeezed
        ("c o n n a r d", "connard"),  # spaced letters
        ("c.o.n.n.a.r.d", "connard"),  # dotted letters
        ("c-o-n-n-a-r-d", "connard"),  # dashed letters
        ("c_o_n", "con"),
    ],
)
def test_aggressive_view_undoes_each_obfuscation(text: str, expected: str) -> None:
    assert aggressive(text) == expected


@pytest.mark.parametrize(
    "text",
    ["commande 123456", "top!", "baisse", "il a 3 enfants", "prix: 20€"],
)
def test_aggressive_view_leaves_ordinary_text_alone(text: str) -> None:
    assert aggressive(text) == clean(text)


def test_doubled_letters_are_kept_so_baisse_stays_baisse() -> None:
    assert aggressive("le prix baisse") == "le prix baisse"
    assert aggressive("baiiiise") == "baise"


def test_term_variants_collapse_doubles_only_behind_a_stretch_check() -> None:
    variants = dict(term_variants("connard", "aggressive"))
    assert variants["connard"] is None
    assert variants["conard"] == "c+o+n{3,}a+r+d+"
    assert term_variants("connard", "clean") == (("connard", None),)
    assert term_variants("\u200b", "clean") == ()


def test_trace_maps_every_view_character_to_its_source() -> None:
    text = "Espèce de c0nn4rd !!"
    view, offsets = trace(text, "aggressive")
    assert len(view) == len(offsets)
    start = view.index("connard")
    assert original_span(text, "aggressive", start, start + 7) == "c0nn4rd"


def test_original_span_through_zero_width_and_homoglyph() -> None:
    text = "t'es un соn\u200bnard"
    view = clean(text)
    start = view.index("connard")
    assert original_span(text, "clean", start, start + 7) == "соn\u200bnard"
