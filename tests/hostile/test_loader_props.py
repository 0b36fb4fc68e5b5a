"""The rule loader on hostile files: generated YAML documents and mutated real packs either load or
raise `RulebookError` (its one documented exception), in bounded time; a 10,000-rule pack loads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rulebook import RulebookError, load_rulebook
from tests.rulebook.rulebook_helpers import RULES, make_event

REPO = Path(__file__).resolve().parents[2]
PACKS = sorted(p.name for p in RULES.glob("*.yaml") if p.name != "escalation.yaml")
KEYS = [
    "id",
    "when",
    "then",
    "unless",
    "text",
    "words",
    "mode",
    "normalize",
    "regex",
    "detect",
    "any",
    "all",
    "not",
    "source",
    "kind",
    "rating",
    "label",
    "hold",
    "warn",
    "route",
    "team",
    "priority",
    "signal",
    "rate",
    "tests",
    "match",
    "no_match",
    "applies_to",
    "rules",
    "stop",
    "dry_run",
    "enabled",
    "lang",
    "sentiment",
    "author",
    "role",
    "business_hours",
    "timeout",
    "mirror",
    "block",
    "require_approval",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "incoming",
            "outgoing",
            "word",
            "aggressive",
            "hold",
            "@insults-fr",
            "@nope",
            "(a+)+$",
            "((",
            "1h",
            "-5m",
            "99999999999w",
            "09:00-18:00",
            "fr",
            "hide",
            "toxic",
        ]
    ),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=30,
)
RULE = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)
DOCUMENT = st.one_of(
    st.fixed_dictionaries(
        {"rules": st.lists(RULE, max_size=5)},
        optional={"applies_to": VALUES, "description": VALUES, "business_hours": VALUES},
    ),
    VALUES,
)
LOADER = settings(
    max_examples=80,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A rules directory with the real word lists; each example rewrites its one pack."""
    root = tmp_path_factory.mktemp("hostile-packs")
    shutil.copytree(RULES / "lists", root / "lists")
    yield root


def _load_or_refuse(folder: Path, text: str | bytes) -> None:
    pack = folder / "pack.yaml"
    if isinstance(text, bytes):
        pack.write_bytes(text)
    else:
        pack.write_text(text, "utf-8")
    try:
        rulebook = load_rulebook(folder)
    except RulebookError as error:
        assert error.errors, "a RulebookError lists its problems"
        for item in error.errors:
            assert item.line >= 1 and item.column >= 1 and item.message
        return
    rulebook.evaluate(make_event("c0nnard, arnaque ! 1 étoile"), signals=True)


@LOADER
@given(document=DOCUMENT)
def test_generated_documents_load_or_raise_rulebook_error(folder: Path, document: Any) -> None:
    text = (
        "rules: []\n" if document is None else yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    )
    if not text.startswith(("rules", "applies_to")):
        text = "applies_to: incoming\n" + text  # so the directory scan takes it as a pack
    _load_or_refuse(folder, text)


MUTATIONS = st.sampled_from(["delete", "duplicate", "insert", "swap", "truncate", "bytes"])
# Characters YAML refuses to read (C0 controls, U+FFFE...) have their own finding below; the junk
# inserted here stays within YAML's printable set so the other failure modes stay visible.
JUNK = st.text(max_size=12).filter(lambda junk: yaml.reader.Reader.NON_PRINTABLE.search(junk) is None)


@settings(
    max_examples=40,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    pack=st.sampled_from(PACKS),
    steps=st.lists(st.tuples(MUTATIONS, st.integers(0, 10**6), JUNK), min_size=1, max_size=4),
)
def test_mutated_real_packs_load_or_raise_rulebook_error(
    folder: Path, pack: str, steps: list[tuple[str, int, str]]
) -> None:
    data = (RULES / pack).read_bytes()
    for kind, position, junk in steps:
        lines = data.split(b"\n")
        at = position % max(len(lines), 1)
        if kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "insert":
            lines[at] = lines[at][: position % 40] + junk.encode() + lines[at][position % 40 :]
        elif kind == "swap":
            other = (at * 7 + 3) % len(lines)
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "truncate":
            lines = lines[: at + 1]
        else:  # invalid UTF-8, a tab where YAML forbids one, a stray mapping
            lines[at] = lines[at] + [b"\xff\xfe", b": : x", b"\t: x", b"\xc3("][position % 4]
        data = b"\n".join(lines)
    _load_or_refuse(folder, data)


def test_non_utf8_and_binary_packs_are_refused_with_the_file_named(folder: Path) -> None:
    for raw in (b"rules:\n  - id: \xff\xfe\n", b"rules: [\xc3(]\n"):
        (folder / "pack.yaml").write_bytes(raw)
        with pytest.raises(RulebookError) as caught:
            load_rulebook(folder)
        assert "pack.yaml:1:1: [-] cannot read" in str(caught.value)
    (folder / "pack.yaml").write_bytes("rules: [é]".encode("utf-16"))  # not even found as a pack
    with pytest.raises(RulebookError, match="no rule files"):
        load_rulebook(folder)


def _word(index: int) -> str:
    """Distinct letters-only words with no doubled letter (squeezing and leet leave them alone)."""
    consonants = "bcdfghjklmnpqrstvwxz"
    return "ve" + "".join(consonants[int(d)] + "o" for d in f"{index:05d}")


def test_a_pack_of_10000_rules_loads_and_evaluates(tmp_path: Path) -> None:
    lines = ["applies_to: incoming", "rules:"]
    for index in range(10_000):
        lines += [
            f"  - id: r{index:05d}",
            f"    when: {{text: {{words: [{_word(index)}], normalize: aggressive}}}}",
            f"    then: [{{label: l{index % 50}}}]",
        ]
    (tmp_path / "big.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    rulebook = load_rulebook(tmp_path)
    assert len(rulebook.incoming) == 10_000
    text = f"Bonjour {_word(42)}, et {'.'.join(_word(9_999))} aussi"
    verdict = rulebook.evaluate(make_event(text))
    assert verdict.rules == ("r00042", "r09999")
    assert set(verdict.labels) == {"l42", "l49"}
    assert rulebook.evaluate(make_event("rien à signaler")).rules == ()


def test_a_big_pack_with_one_bad_regex_is_refused_naming_it(tmp_path: Path) -> None:
    lines = ["rules:"]
    for index in range(3_000):
        regex = "(a)\\1" if index == 2_777 else f"^{_word(index)}$"
        lines += [f"  - id: r{index:05d}", f"    when: {{text: {{regex: ['{regex}']}}}}", "    then: [hold]"]
    (tmp_path / "big.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(RulebookError) as caught:
        load_rulebook(tmp_path)
    assert [e.rule_id for e in caught.value.errors] == ["r02777"]
    assert caught.value.errors[0].line == 2 + 3 * 2_777 + 1
    assert "refused by RE2" in caught.value.errors[0].message


# -- findings: the loader lets other exceptions out or takes unbounded time ------------------------


@pytest.mark.parametrize(
    "text",
    ["rules: &a [*a]\n", "rules:\n  - id: x\n    when: &w {all: [*w]}\n    then: [hold]\n"],
)
def test_an_alias_cycle_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "a.yaml").write_text(text, "utf-8")
    with pytest.raises(RulebookError):
        load_rulebook(tmp_path)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\ufffe"])
def test_a_control_character_in_a_pack_is_refused(tmp_path: Path, char: str) -> None:
    (tmp_path / "a.yaml").write_text(f"rules:\n  - id: r{char}\n    when: {{kind: dm}}\n    then: [hold]\n")
    with pytest.raises(RulebookError):
        load_rulebook(tmp_path)


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("rules: " + "[" * 5_000 + "]" * 5_000 + "\n", "utf-8")
    with pytest.raises(RulebookError):
        load_rulebook(tmp_path)


ALIAS_BOMB = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bot.rulebook import RulebookError, load_rulebook
    folder = Path(sys.argv[1])
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 8)]
    (folder / "a.yaml").write_text("\\n".join(levels) + "\\nrules: []\\n", "utf-8")
    try:
        load_rulebook(folder)
    except RulebookError as error:
        print("refused", str(error).splitlines()[0])
    """
)


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", ALIAS_BOMB, str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=3,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"a 300-byte rule file kept the loader busy for {time.monotonic() - started:.0f} s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused")
