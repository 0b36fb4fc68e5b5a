"""Bulk import of JSONL events (`vigie ingest`): validated line by line, stored in batches, enqueued."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.events import Event
from bot.ingest import Ingestor
from bot.runtime import Runtime

BATCH = 500


def _lines(path: Path) -> tuple[list[str], int]:
    if str(path) == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise OSError(f"{path}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not UTF-8 (byte {error.start})") from None
    return lines, len(lines)


def parse_line(text: str, number: int) -> tuple[Event | None, dict[str, Any] | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return None, {"line": number, "field": "(line)", "message": f"invalid JSON: {error.msg}"}
    if not isinstance(data, dict):
        return None, {"line": number, "field": "(line)", "message": "each line must be a JSON object"}
    try:
        return Event.model_validate(data), None
    except ValidationError as error:
        item = error.errors()[0]
        field = ".".join(str(p) for p in item["loc"]) or "(line)"
        return None, {"line": number, "field": field, "message": item["msg"]}


def ingest_file(runtime: Runtime, path: Path, *, progress: bool) -> dict[str, Any]:
    lines, total = _lines(path)
    ingestor = Ingestor(runtime.store, runtime.queue)
    summary: dict[str, Any] = {"stored": 0, "duplicate": 0, "invalid": 0, "errors": []}
    batch: list[Event] = []

    def flush() -> None:
        for result in ingestor.ingest_many(batch):
            summary["duplicate" if result.duplicate else "stored"] += 1
        batch.clear()

    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=total)
        for number, text in enumerate(lines, start=1):
            bar.advance(task)
            if not text.strip():
                continue
            event, problem = parse_line(text, number)
            if problem is not None:
                summary["invalid"] += 1
                summary["errors"].append(problem)
                continue
            assert event is not None
            batch.append(event)
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
    return summary
