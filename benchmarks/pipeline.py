"""Pipeline throughput and latency: signed webhook → store → Redis → worker → applied effect.

For 1 and 2 worker processes, in the same run:
  * no-op baseline: N trivial RQ jobs (`bot.jobs.ping`) through the same worker class: jobs/s;
  * throughput: N events posted in batches of 100 as fast as the client can, events/s end to end
    (first receipt → last applied effect);
  * latency: events posted one by one at a steady rate (default 50/s) by a client in a second process;
    p50/p99 from receipt (the store's received_at) to the event's last applied effect.

Usage: python benchmarks/pipeline.py [--events 2000] [--rate 50] [--latency-events 500]
       [--database-url URL] [--redis-url URL]
Defaults: embedded Redis and SQLite in a temp dir (the fresh-machine path)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from bot.httpserver import ServerThread  # noqa: E402
from bot.queue import EVENTS_QUEUE  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402
from bot.server import make_app, spawn_workers, stop_workers  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.store.models import EffectRow, EventRow  # noqa: E402

TEXTS = [
    "Trop belle la nouvelle collection, bravo !",
    "Colis arrivé cassé, je veux être remboursé",
    "t'es vraiment un c0nn4rd",
    "Do you ship to Canada?",
    "My order #48213 never arrived and I want a refund.",
    "Great gift idea, fast shipping.",
]

CLIENT = r"""
import json, sys, time, httpx
sys.path.insert(0, sys.argv[1])
from bot.platforms.webhook.signing import signed_headers
base, secret, prefix, count, rate, mode = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
texts = json.loads(sys.argv[8])
def ev(i):
    return {"source": "bench", "kind": "comment", "external_id": f"{prefix}-{i}", "text": texts[i % len(texts)],
            "author": {"id": f"a{i % 97}", "name": "Bench"}}
with httpx.Client(base_url=base, timeout=30) as client:
    if mode == "batch":
        for start in range(0, count, 100):
            body = json.dumps({"events": [ev(i) for i in range(start, min(count, start + 100))]}).encode()
            r = client.post("/v1/events/batch", content=body, headers={"Content-Type": "application/json", **signed_headers(secret, body)})
            assert r.status_code == 202, r.text
    else:
        t0 = time.perf_counter()
        for i in range(count):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps(ev(i)).encode()
            r = client.post("/v1/events", content=body, headers={"Content-Type": "application/json", **signed_headers(secret, body)})
            assert r.status_code == 202, r.text
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def wait_done(rt: Any, prefix: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.store.unit() as unit:
            done = unit.session.scalar(
                select(func.count())
                .select_from(EventRow)
                .where(EventRow.external_id.like(f"{prefix}-%"), EventRow.status == "processed")
            )
        if done == count:
            return
        time.sleep(0.1)
    raise SystemExit(f"timeout: {prefix} not all processed")


def timings(rt: Any, prefix: str) -> tuple[list[float], float]:
    """Per-event receipt→last-applied latencies, and the span first receipt → last applied."""
    with rt.store.unit() as unit:
        rows = unit.session.execute(
            select(EventRow.id, EventRow.received_at, func.max(EffectRow.applied_at))
            .join(EffectRow, EffectRow.subject == EventRow.id)
            .where(EventRow.external_id.like(f"{prefix}-%"))
            .group_by(EventRow.id, EventRow.received_at)
        ).all()
    latencies = [(applied - received).total_seconds() for _id, received, applied in rows]
    span = (max(r[2] for r in rows) - min(r[1] for r in rows)).total_seconds()
    return latencies, span


def noop_rate(rt: Any, workers: int, count: int, settings: Any) -> float:
    from rq import Queue

    queue = Queue(EVENTS_QUEUE, connection=rt.redis.client)
    queue.enqueue_many([Queue.prepare_data("bot.jobs.ping", result_ttl=0) for _ in range(count)])
    started = time.perf_counter()
    children = spawn_workers(workers, rt.redis.url, settings)
    while queue.count > 0 or queue.started_job_registry.count > 0:
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    stop_workers(children)
    return count / elapsed


def run_client(base: str, secret: str, prefix: str, count: int, rate: float, mode: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT,
            str(REPO),
            base,
            secret,
            prefix,
            str(count),
            str(rate),
            mode,
            json.dumps(TEXTS),
        ],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()

    results: dict[str, Any] = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as scratch:
        secret = secrets.token_hex(8)
        settings = load_settings(
            data_dir=Path(scratch),
            database_url=args.database_url,
            redis_url=args.redis_url,
            workspace=None,
            webhook={"secret": secret},
            http={"rate_per_source": 10**9},
        )
        rt = build_runtime(settings, migrate=True)
        server = ServerThread(make_app(rt), "127.0.0.1", 0)
        server.start()
        server.wait_started()
        base = f"http://127.0.0.1:{server.port}"
        try:
            for workers in (1, 2):
                row: dict[str, Any] = {
                    "noop_jobs_per_s": round(noop_rate(rt, workers, args.events, settings), 1)
                }
                children = spawn_workers(workers, rt.redis.url, settings)
                try:
                    prefix = f"t{workers}"
                    run_client(base, secret, prefix, args.events, 0, "batch")
                    wait_done(rt, prefix, args.events, timeout=600)
                    latencies, span = timings(rt, prefix)
                    row["events_per_s"] = round(args.events / span, 1)
                    row["ratio_to_noop"] = round(row["events_per_s"] / row["noop_jobs_per_s"], 2)
                    prefix = f"l{workers}"
                    run_client(base, secret, prefix, args.latency_events, args.rate, "steady")
                    wait_done(rt, prefix, args.latency_events, timeout=600)
                    latencies, _span = timings(rt, prefix)
                    row[f"p50_ms_at_{args.rate:g}_per_s"] = round(statistics.median(latencies) * 1000, 1)
                    row[f"p99_ms_at_{args.rate:g}_per_s"] = round(percentile(latencies, 99) * 1000, 1)
                finally:
                    stop_workers(children)
                results[f"workers_{workers}"] = row
                print(json.dumps({f"workers_{workers}": row}), flush=True)
        finally:
            server.stop()
            rt.close()
    results["load_after"] = os.getloadavg()
    results["store"] = "postgresql" if args.database_url else "sqlite"
    results["redis"] = "external" if args.redis_url else "embedded"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
