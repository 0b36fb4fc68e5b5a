"""The report as CSV: one row per measure (`metric`, this period's `value`, the previous period's),
with nested measures flattened to dotted names (`volume.by_source.instagram`, `daily.2026-11-20.sla_hit`),
so a spreadsheet can pivot it without knowing the report's shape."""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.reports.report import Report


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value and all(isinstance(i, dict) and "day" in i for i in value):
        for item in value:
            rest = {k: v for k, v in item.items() if k != "day"}
            out.update(flatten(rest, f"{prefix}.{item['day']}"))
    elif isinstance(value, list) and all(isinstance(i, list | tuple) and len(i) == 2 for i in value):
        for name, count in value:
            out[f"{prefix}.{name}"] = count
    else:
        out[prefix] = value
    return out


def render_csv(report: Report) -> str:
    current = flatten(report.kpis.model_dump(mode="json"))
    previous = flatten(report.previous.model_dump(mode="json"))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "value", "previous"])
    for key, value in current.items():
        if key.startswith("daily."):
            writer.writerow([key, value, ""])
        else:
            writer.writerow([key, value, previous.get(key, "")])
    for key, item in report.trend.items():
        writer.writerow([f"trend.{key}.change", item.change, ""])
    return buffer.getvalue()
