"""The matchers on hostile text: no exception, words still found when wrapped in garbage or
obfuscated, nothing found where no letter is, and regexes that would backtrack run through RE2."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rulebook import Rulebook, load_rulebook
from bot.rulebook.matchers import MatchEngine, RegexRefused
from bot.rulebook.normalize import View, clean, normalize, unsqueezed_from_clean
from tests.hostile.strategies import HOMOGLYPHS, ZERO_WIDTH, hostile_text
from tests.rulebook.rulebook_helpers import make_event

TERMS = ("connard", "arnaque", "idiot", "kys")
RULES = """\
applies_to: incoming
rules:
  - id: clean-words
    when: {text: {words: [connard, arnaque, idiot, kys]}}
    then: [{label: clean-hit}]
  - id: aggressive-words
    when: {text: {words: [connard, arnaque, idiot, kys], normalize: aggressive}}
    then: [{label: aggressive-hit}]
  - id: phrase
    when: {text: {words: ["nique ta mère"], mode: phrase, normalize: aggressive}}
    then: [{label: phrase-hit}]
  - id: prefix
    when: {text: {words: [rembours], mode: prefix}}
    then: [{label: prefix-hit}]
  - id: regex
    when: {text: {regex: ['(a+)+$', '(x+x+)+y', '(\\w+\\s?)*!$'], normalize: none}}
    then: [{label: regex-hit}]
"""
SETTINGS = settings(
    max_examples=200, deadline=timedelta(seconds=3), suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def rulebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rulebook]:
    folder = tmp_path_factory.mktemp("hostile-rules")
    (folder / "a.yaml").write_text(RULES, "utf-8")
    loaded = load_rulebook(folder)
    # Warm up: the first evaluation loads the language model, lexicons and confusables table, which
    # would count against the first example's deadline.
    loaded.evaluate(make_event("Bonjour, c​onnard ! été"), signals=True, explain=True)
    yield loaded


def labels(rulebook: Rulebook, text: str) -> tuple[str, ...]:
    return rulebook.evaluate(make_event(text[:40_000]), signals=True).labels


@SETTINGS
@given(text=hostile_text)
def test_any_text_evaluates_without_error(rulebook: Rulebook, text: str) -> None:
    verdict = rulebook.evaluate(make_event(text), signals=True, explain=True)
    assert set(verdict.rules) <= {"clean-words", "aggressive-words", "phrase", "prefix", "regex"}


@SETTINGS
@given(before=hostile_text, after=hostile_text, term=st.sampled_from(TERMS))
def test_a_word_between_spaces_is_found_whatever_surrounds_it(
    rulebook: Rulebook, before: str, after: str, term: str
) -> None:
    found = labels(rulebook, f"{before} {term} {after}")
    assert "clean-hit" in found and "aggressive-hit" in found


@SETTINGS
@given(
    term=st.sampled_from(TERMS),
    data=st.data(),
)
def test_obfuscated_words_are_found_in_the_aggressive_view(
    rulebook: Rulebook, term: str, data: st.DataObject
) -> None:
    out = []
    for index, letter in enumerate(term):
        glyphs = [letter, letter.upper()] + [h for h in HOMOGLYPHS if clean(h) == letter]
        out.append(data.draw(st.sampled_from(glyphs), label=f"glyph {index}"))
        if index < len(term) - 1:
            out.append(data.draw(st.sampled_from(["", *ZERO_WIDTH, "\u0301"]), label=f"gap {index}"))
    text = "".join(out)
    assert "aggressive-hit" in labels(rulebook, f"ok {text} !"), text


@SETTINGS
@given(
    text=st.text(alphabet=st.sampled_from(list("0123456789 .,;:?-_*#%&()[]{}<>/\\\"'=~^\n\t")), max_size=200)
)
def test_text_without_letters_fires_no_word_rule(rulebook: Rulebook, text: str) -> None:
    assert not {"clean-hit", "aggressive-hit", "phrase-hit", "prefix-hit"} & set(labels(rulebook, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 100_000 + "b", set()),  # (a+)+$ backtracks exponentially in a backtracking engine
        ("x" * 100_000, set()),  # (x+x+)+y: no y, every split tried
        ("ab " * 33_000 + "?", set()),  # (\w+\s?)*!$ : no final !
        ("a" * 100_000, {1}),
        ("x" * 100_000 + "y", {2}),
    ],
)
def test_regexes_built_to_backtrack_run_in_linear_time_through_re2(text: str, expected: set[int]) -> None:
    # The Event model caps text at 40,000 characters; the engine itself gets the 100 KB directly.
    # Not a timing assertion: a backtracking engine would not finish this test at all.
    engine = MatchEngine()
    for pattern in ("(a+)+$", "(x+x+)+y", r"(\w+\s?)*!$"):
        engine.add_regex(engine.new_id(), pattern, "none")
    engine.build()
    found: dict[int, list[object]] = {}
    engine.scan("none", text, found)  # type: ignore[arg-type]
    assert set(found) == expected


def test_backtracking_regexes_in_a_rule_file_evaluate_a_40k_text(rulebook: Rulebook) -> None:
    assert "regex-hit" in labels(rulebook, "a" * 40_000)
    assert "regex-hit" not in labels(rulebook, "a" * 39_999 + "b")
    assert "regex-hit" not in labels(rulebook, "x" * 40_000)


@pytest.mark.parametrize(
    "pattern", [r"(a)\1", "(?=a)a", "(?<!x)a", "(?>a+)", r"a{1000}{1000}", "(", "[z-a]", "a**"]
)
def test_regexes_re2_cannot_run_linearly_are_refused_at_load(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(RegexRefused):
        MatchEngine().add_regex(1, pattern, "clean")
    body = f"rules:\n  - id: bad\n    when: {{text: {{regex: ['{pattern}']}}}}\n    then: [hold]\n"
    (tmp_path / "a.yaml").write_text(body, "utf-8")
    from bot.rulebook import RulebookError

    with pytest.raises(RulebookError) as caught:
        load_rulebook(tmp_path)
    assert "refused by RE2" in str(caught.value) and "[bad]" in str(caught.value)


STRETCH_PROBE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bot.rulebook import load_rulebook
    from tests.rulebook.rulebook_helpers import make_event
    folder = Path(sys.argv[1])
    (folder / "a.yaml").write_text(
        "rules:\\n  - id: r\\n    when: {text: {words: [connard], normalize: aggressive}}\\n"
        "    then: [hold]\\n", "utf-8")
    rulebook = load_rulebook(folder)
    text = "c" * 14_000 + "o" * 14_000 + " x connnard"
    started = time.perf_counter()
    verdict = rulebook.evaluate(make_event(text))
    print(verdict.rules, round(time.perf_counter() - started, 3))
    """
)


def test_a_crafted_stretch_does_not_make_evaluation_quadratic(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    # In a child with a hard timeout, so a quadratic scan costs this suite 4 s, not minutes. A linear
    # scan of 28k characters takes milliseconds; the bound is three orders of magnitude above that.
    try:
        done = subprocess.run(
            [sys.executable, "-c", STRETCH_PROBE, str(tmp_path)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=4,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("evaluating one 28k-character event took more than 4 s")
    assert done.returncode == 0, done.stderr
    rules, seconds = done.stdout.rsplit(" ", 1)
    assert "'r'" in rules
    assert float(seconds) < 1.0


@pytest.mark.parametrize("view", ["none", "clean", "aggressive"])
def test_unsqueezed_view_is_bounded_by_the_clean_view(view: View) -> None:
    text = normalize("c.o.n.n.a.r.d " * 1000 + "c0nn4rd " * 1000, "clean")
    assert len(unsqueezed_from_clean(text)) <= len(text)
