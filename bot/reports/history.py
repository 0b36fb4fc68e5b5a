"""The audit trail and exports as people and tools read them: one line per audit entry, and
export files (JSON Lines with a `type` per line, or one CSV per kind) written row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

AUDIT_COLUMNS = ("id", "at", "actor", "door", "action", "subject", "detail")
EXPORT_TYPES = {"events": "event", "cases": "case", "drafts": "draft", "actions": "action", "audit": "audit"}


def audit_line(entry: Mapping[str, Any]) -> str:
    """`2026-11-20T09:12:00+00:00  camille  slack  case.assigned  case:7  to=samir`"""
    detail = " ".join(f"{k}={_short(v)}" for k, v in (entry.get("detail") or {}).items())
    parts = [
        str(entry["at"]),
        str(entry["actor"]),
        str(entry["door"]),
        str(entry["action"]),
        str(entry["subject"]),
    ]
    return "  ".join(parts) + (f"  {detail}" if detail else "")


def _short(value: Any) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= 80 else shown[:79] + "…"


def write_jsonl(out: TextIO, kind: str, rows: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps({"type": EXPORT_TYPES.get(kind, kind), **row}, ensure_ascii=False, default=str))
        out.write("\n")
        count += 1
    return count


def write_csv(out: TextIO, rows: Iterable[Mapping[str, Any]]) -> int:
    """Columns from the first row; nested values (payloads, SLA documents, labels) as JSON cells."""
    writer: csv.DictWriter[str] | None = None
    count = 0
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
        writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else value
