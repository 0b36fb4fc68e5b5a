from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.rulebook import Rulebook
from tests.rulebook.rulebook_helpers import make_event


def fires(rulebook: Rulebook, text: str) -> bool:
    return "r" in rulebook.evaluate(make_event(text)).rules


@pytest.mark.parametrize(
    ("mode", "term", "hits", "misses"),
    [
        ("word", "twat", ["you twat", "twat!"], ["smartwatch", "twats"]),
        ("word", "cunt", ["what a cunt"], ["Scunthorpe"]),
        ("word", "con", ["pauvre con", "con!"], ["concombre", "conseil", "bacon"]),
        ("word", "remboursé", ["pas remboursé", "REMBOURSÉ.", "rembourse"], ["remboursement"]),
        ("word", "enculé", ["enculé!", "l'enculé"], ["enculées"]),
        ("substring", "watch", ["smartwatch"], ["wat ch"]),
        ("prefix", "rembours", ["remboursez-moi", "remboursement"], ["pas de débours"]),
        ("exact", "stop", ["STOP", "  stop "], ["stop please"]),
        ("phrase", "nique ta mère", ["nique, ta mère!", "NIQUE - TA - MERE"], ["nique ta maman"]),
    ],
)
def test_modes(
    one_rule: Callable[..., Rulebook], mode: str, term: str, hits: list[str], misses: list[str]
) -> None:
    rulebook = one_rule(f'{{text: {{words: ["{term}"], mode: {mode}}}}}')
    for text in hits:
        assert fires(rulebook, text), text
    for text in misses:
        assert not fires(rulebook, text), text


def test_accented_term_boundaries_in_the_raw_view(one_rule: Callable[..., Rulebook]) -> None:
    # RE2's ASCII \b would see `é` as a boundary; str.isalnum does not.
    rulebook = one_rule('{text: {words: ["remboursé"], normalize: none}}')
    assert fires(rulebook, "pas remboursé!")
    assert not fires(rulebook, "pas remboursées")
    assert not fires(rulebook, "pas rembourse")


def test_named_lists_are_shared_and_normalised(one_rule: Callable[..., Rulebook]) -> None:
    terms = {"insults": ["# comment", "connard", ""]}
    rulebook = one_rule('{text: {words: ["@insults"], normalize: aggressive}}', lists=terms)
    for text in ["c0nnard", "соnnard", "C.O.N.N.A.R.D", "cooonnnard", "ｃｏｎｎａｒｄ", "con\u200bnard"]:
        assert fires(rulebook, text), text
    assert not fires(rulebook, "conard du lac")  # a single n was never stretched


def test_squeezed_variant_needs_a_real_stretch(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule("{text: {words: [faggot], normalize: aggressive}}")
    assert fires(rulebook, "faggggggot")
    assert not fires(rulebook, "un fagot de bois")


def test_regex_runs_on_the_view(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule(r'{text: {regex: ["commande\\s*n?°?\\s*\\d{6,}"]}}')
    assert fires(rulebook, "Commande N°1234567")
    assert not fires(rulebook, "commande 12")


def test_regexes_share_one_set_and_each_reports(one_rule: Callable[..., Rulebook]) -> None:
    rulebook = one_rule('{text: {regex: ["\\\\bfoo\\\\b", "bar+"]}}')
    verdict = rulebook.evaluate(make_event("foo and barrr"))
    assert set(verdict.hits[0].normalized) == {"foo", "barrr"}


def test_word_list_scaling_keeps_one_automaton(one_rule: Callable[..., Rulebook]) -> None:
    terms = [f"mot{i}x" for i in range(5000)]
    rulebook = one_rule('{text: {words: ["@big"]}}', lists={"big": terms})
    assert fires(rulebook, "un mot4999x ici")
    assert not fires(rulebook, "un mot5000x ici")
