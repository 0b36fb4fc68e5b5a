from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.rulebook import RulebookError, RulebookHolder

GOOD = 'rules:\n  - id: r\n    when: {text: {words: ["@l"]}}\n    then: [{label: "%s"}]\n'


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_reload_swaps_on_change_and_keeps_last_good(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a=GOOD % "v1", lists={"l": ["x"]})
    holder = RulebookHolder(folder, check_every=0)
    first = holder.current
    assert holder.maybe_reload() is None  # nothing changed

    (folder / "a.yaml").write_text(GOOD % "v2")
    touch_later(folder / "a.yaml")
    assert holder.maybe_reload() == []
    assert holder.current.version != first.version

    good = holder.current
    (folder / "a.yaml").write_text("rules:\n  - id: r\n    when: {kind: nope}\n    then: [hide]\n")
    touch_later(folder / "a.yaml")
    errors = holder.maybe_reload()
    assert errors and "a.yaml:3" in str(errors[0])
    assert holder.current is good  # the last good rulebook keeps running
    assert holder.last_errors == errors


def test_list_change_triggers_reload(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a=GOOD % "v1", lists={"l": ["x"]})
    holder = RulebookHolder(folder, check_every=0)
    before = holder.current.version
    (folder / "lists" / "l.txt").write_text("x\ny\n")
    touch_later(folder / "lists" / "l.txt")
    assert holder.maybe_reload() == []
    assert holder.current.version != before


def test_failing_inline_test_blocks_reload(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a=GOOD % "v1", lists={"l": ["x"]})
    holder = RulebookHolder(folder, check_every=0)
    good = holder.current
    (folder / "a.yaml").write_text((GOOD % "v1") + "    tests: {match: [nothing here]}\n")
    touch_later(folder / "a.yaml")
    errors = holder.maybe_reload()
    assert errors and "test failed" in str(errors[0])
    assert holder.current is good


def test_generation_bump_forces_reload(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a=GOOD % "v1", lists={"l": ["x"]})
    generation = [0]
    holder = RulebookHolder(folder, check_every=0, generation=lambda: generation[0])
    calls = []
    original = holder.reload
    holder.reload = lambda: calls.append(1) or original()  # type: ignore[method-assign]
    assert holder.maybe_reload() is None
    generation[0] = 1
    assert holder.maybe_reload() == []
    assert calls == [1]


def test_bad_rulebook_at_start_raises(write_rules: Callable[..., Path]) -> None:
    folder = write_rules(a="rules: [1]\n")
    with pytest.raises(RulebookError):
        RulebookHolder(folder)
