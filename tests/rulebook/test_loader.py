from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.rulebook import RulebookError, load_rulebook
from bot.rulebook.schema import json_schema

BROKEN = """\
rules:
  - id: one
    when:
      text: {words: ["@nope"], mod: word}
    then: [hid]
  - id: two
    when:
      text: {regex: ["(a)\\\\1"]}
    then: [{label: x}, {block: "no"}]
  - id: three
    unles: {kind: dm}
    when: {kind: review, time: {between: ["25:00", "08:00"]}}
    then: [{route: {team: sav, prio: high}}]
  - id: four
    when: {text: {words: ["@nope"]}}
    then: [hide]
  - id: four
    when: {kind: dm}
    then: [hide]
"""


def test_every_error_at_once_with_file_line_column_and_rule(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(bad=BROKEN, worse="rules:\n  - id: x\n    when: {kind: review\n    then: [hide]\n")
    with pytest.raises(RulebookError) as caught:
        load_rulebook(folder)
    lines = str(caught.value).splitlines()
    bad, worse = str(folder / "bad.yaml"), str(folder / "worse.yaml")
    expected = [
        f"{bad}:4:32: [one] when.text.mod: unknown key",
        f"{bad}:5:12: [one] then[0]: unknown action",
        f"{bad}:8:22: [two] regex '(a)\\\\1' refused by RE2",
        f"{bad}:9:24: [two] action 'block' does not apply to incoming messages",
        f"{bad}:11:5: [three] unles: unknown key",
        f"{bad}:12:42: [three] when.time.between: '25:00' is not a time HH:MM",
        f"{bad}:13:32: [three] then[0].route.prio: unknown key",
        f"{bad}:15:27: [four] unknown word list '@nope'",
        f"{bad}:17:9: [four] rule id 'four' already used",
        f"{worse}:4:9: [-] invalid YAML",
    ]
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)
    assert {e.rule_id for e in caught.value.errors} >= {"one", "two", "three", "four"}
    assert all(e.file and e.line > 0 and e.column > 0 for e in caught.value.errors)


def test_regex_written_for_raw_text_is_refused_on_clean_view(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a='rules:\n  - id: r\n    when: {text: {regex: ["Remboursé"]}}\n    then: [hide]\n')
    with pytest.raises(RulebookError, match="lower case without accents"):
        load_rulebook(folder)


def test_yaml_one_one_booleans_are_plain_words(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a="rules:\n  - id: off\n    when: {text: {words: [no, yes]}}\n    then: [hide]\n")
    rulebook = load_rulebook(folder)
    assert rulebook.rules[0].id == "off"


def test_duplicate_keys_are_refused(write_rules: Callable[..., Path]) -> None:
    body = "rules:\n  - id: r\n    when: {kind: dm}\n    when: {kind: review}\n    then: [hide]\n"
    folder = write_rules(a=body)
    with pytest.raises(RulebookError, match=r"a.yaml:4:5: \[r\] duplicate key 'when'"):
        load_rulebook(folder)


def test_other_yaml_files_are_not_rule_packs(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a="rules: []\n", escalation="version: 1\npolicies: []\n")
    assert load_rulebook(folder).files == (str(folder / "a.yaml"),)


def test_missing_directory_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(RulebookError, match="no such file"):
        load_rulebook(tmp_path / "nope")
    with pytest.raises(RulebookError, match="no rule files"):
        load_rulebook(tmp_path)


def test_version_is_a_content_hash(write_rules: Callable[..., Path]) -> None:
    body = 'rules:\n  - id: r\n    when: {text: {words: ["@l"]}}\n    then: [hide]\n'
    first = load_rulebook(write_rules(a=body, lists={"l": ["x"]})).version
    assert load_rulebook(write_rules(a=body, lists={"l": ["x"]})).version == first
    assert load_rulebook(write_rules(a=body, lists={"l": ["y"]})).version != first


def test_json_schema_describes_rule_files() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert schema["title"] == "Vigie rule file"
    for key in ("applies_to", "dry_run", "unless", "require_approval", "aggressive", "account_age"):
        assert key in text
