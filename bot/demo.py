"""`vigie demo`: a bundled scenario replayed through the real path — signed HTTP webhooks → store →
embedded Redis → worker processes → console channels — then the after-sales story (a routed
complaint, a draft blocked by the ethics pack, a corrected draft approved by a second person and
delivered), and a summary per channel, label and case. Leaves no process behind."""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bot.events import utcnow
from bot.platforms.console.chat import channel_names, read_channel
from bot.platforms.webhook.signing import signed_headers
from bot.runtime import Runtime
from bot.server import stack
from bot.settings import load_settings

SCENARIO = Path(__file__).resolve().parent / "demo_data" / "scenario.jsonl"
DEADLINE_SECONDS = 45


def load_scenario() -> list[dict[str, Any]]:
    """The bundled events, re-dated to the last few minutes so windows and spikes look live."""
    raw = [json.loads(line) for line in SCENARIO.read_text(encoding="utf-8").splitlines() if line.strip()]
    start = utcnow() - timedelta(seconds=15 * len(raw))
    for index, item in enumerate(raw):
        item["created_at"] = (start + timedelta(seconds=15 * index)).isoformat()
    return raw


def post_events(base_url: str, secret: str, events: list[dict[str, Any]]) -> list[str]:
    ids = []
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for item in events:
            body = json.dumps(item, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
            response = client.post("/v1/events", content=body, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(
                    f"webhook refused {item['external_id']}: {response.status_code} {response.text}"
                )
            ids.append(response.json()["id"])
    return ids


def wait_processed(runtime: Runtime, ids: list[str], deadline: float) -> int:
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        with runtime.store.unit() as unit:
            pending = {i for i in pending if (row := unit.events.get(i)) is None or row.status != "processed"}
        if pending:
            time.sleep(0.2)
    return len(pending)


def after_sales_story(runtime: Runtime, console: Console | None) -> list[str]:
    from bot.demo_story import run_story

    return run_story(runtime, console)


def summarise(runtime: Runtime) -> dict[str, Any]:
    channels = {name: len(read_channel(runtime.store, name)) for name in channel_names(runtime.store)}
    with runtime.store.unit() as unit:
        return {
            "events": unit.events.status_counts(),
            "channels": channels,
            "labels": unit.events.label_counts(),
            "cases": unit.events.cases_overview(),
        }


def print_summary(console: Console, summary: dict[str, Any], seconds: float) -> None:
    console.rule("[bold]Vigie demo: summary")
    table = Table(title="Channels")
    table.add_column("channel")
    table.add_column("messages", justify="right")
    for name, count in summary["channels"].items():
        table.add_row(f"#{name}", str(count))
    console.print(table)
    labels = Table(title="Labels")
    labels.add_column("label")
    labels.add_column("events", justify="right")
    for name, count in summary["labels"].items():
        labels.add_row(name, str(count))
    console.print(labels)
    cases = Table(title="Cases")
    for column in ("case", "team", "status", "priority", "assignee", "labels"):
        cases.add_column(column)
    for case in summary["cases"]:
        cases.add_row(
            f"#{case['id']}",
            case["team"],
            case["status"],
            case["priority"],
            case["assignee"] or "—",
            ", ".join(case["labels"]),
        )
    console.print(cases)
    console.print(f"Events: {summary['events']}; done in {seconds:.1f}s.")


def run_demo(*, data_dir: Path | None, report_dir: Path, as_json: bool, console: Console) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vigie-demo-") as scratch:
        root = data_dir or Path(scratch)
        secret = secrets.token_hex(16)
        settings = load_settings(
            data_dir=root, database_url=None, redis_url=None, workspace=None, webhook={"secret": secret}
        )
        events = load_scenario()
        with stack(settings, host="127.0.0.1", port=0, workers=2) as (runtime, server):
            base_url = f"http://127.0.0.1:{server.port}"
            if not as_json:
                console.print(f"Posting {len(events)} events to {base_url}/v1/events …")
            ids = post_events(base_url, secret, events)
            late = wait_processed(runtime, ids, started + DEADLINE_SECONDS)
            if late:
                raise RuntimeError(f"{late} event(s) not processed in time")
            story = after_sales_story(runtime, None if as_json else console)
            summary = summarise(runtime)
            summary["story"] = story
            from bot.reports.service import demo_report

            report = demo_report(runtime.store, runtime.workspace, report_dir.resolve())
            summary["report"] = {"markdown": str(report.markdown_path), "png": str(report.png_path)}
            if not as_json:
                for name in channel_names(runtime.store):
                    from bot.platforms.console.render import print_channel

                    print_channel(console, runtime.store, name, limit=6)
    elapsed = time.monotonic() - started
    summary["seconds"] = round(elapsed, 1)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        print_summary(console, summary, elapsed)
        console.rule("[bold]Report")
        console.print(report.summary)
        console.print(f"Full report: {report.markdown_path}  ·  dashboard: {report.png_path}")
    return summary
