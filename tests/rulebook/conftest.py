"""Helpers for rulebook tests: write a small rules directory and build events."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.rulebook import Rulebook, load_rulebook
from tests.rulebook.rulebook_helpers import RULES


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML (and lists) into a fresh directory: write_rules(a="...", lists={"x": [...]})."""

    def write(lists: dict[str, list[str]] | None = None, **files: str) -> Path:
        folder = tmp_path / "rules"
        (folder / "lists").mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (folder / f"{name}.yaml").write_text(textwrap.dedent(body), "utf-8")
        for name, terms in (lists or {}).items():
            (folder / "lists" / f"{name}.txt").write_text("\n".join(terms) + "\n", "utf-8")
        return folder

    return write


@pytest.fixture
def one_rule(write_rules: Callable[..., Path]) -> Callable[..., Rulebook]:
    """A rulebook of one incoming rule `r` with the given `when:` (YAML flow mapping)."""

    def build(
        when: str, then: str = "[{label: hit}]", lists: dict[str, list[str]] | None = None, extra: str = ""
    ) -> Rulebook:
        body = f"rules:\n  - id: r\n    when: {when}\n    then: {then}\n{extra}"
        return load_rulebook(write_rules(lists=lists, a=body))

    return build


@pytest.fixture(scope="session")
def default_rulebook() -> Rulebook:
    return load_rulebook(RULES)
