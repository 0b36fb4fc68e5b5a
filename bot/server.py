"""Process roles: the HTTP server, worker processes, and `vigie run` which starts them all (with the
embedded Redis when none is configured) and stops them all on Ctrl-C, leaving nothing behind."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from bot.httpserver import ServerThread
from bot.jobs import install_runtime
from bot.queue import run_worker, wait_for_redis
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.sweeper import Sweeper
from bot.web import create_app

log = logging.getLogger("vigie.server")


def make_app(runtime: Runtime, slack: Any | None = None) -> Any:
    """The HTTP app; with a Bolt app, Slack's events, interactions and commands are served too."""
    routers = []
    if slack is not None:
        from bot.platforms.slack.http import slack_router

        routers.append(slack_router(slack))
    return create_app(
        settings=runtime.settings,
        store=runtime.store,
        queue=runtime.queue,
        workspace=runtime.workspace,
        extra_routers=routers,
    )


def slack_bolt_app(runtime: Runtime) -> Any | None:
    """The Bolt app when Slack is configured (it checks the token with auth.test), else None."""
    settings = runtime.settings.slack
    if settings.bot_token is None:
        return None
    from bot.dispatch import Dispatcher
    from bot.ingest import Ingestor
    from bot.platforms.slack.platform import slack_app

    return slack_app(
        settings,
        runtime.workspace,
        runtime.redis.client,
        ingest=Ingestor(runtime.store, runtime.queue),
        dispatch=Dispatcher(runtime),
    )


class DiscordThread(threading.Thread):
    """The Discord gateway on its own event loop, for `vigie run` (alone it is `vigie discord`)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(name="vigie-discord", daemon=True)
        from bot.dispatch import Dispatcher
        from bot.ingest import Ingestor
        from bot.platforms.discord import DiscordConfig, DiscordGateway

        config = DiscordConfig.build(runtime.settings.discord, workspace=runtime.workspace)
        self.gateway = DiscordGateway(config, Ingestor(runtime.store, runtime.queue), Dispatcher(runtime))
        self.loop = asyncio.new_event_loop()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.gateway.start())
        except Exception as error:  # logged; /healthz shows the gateway as disconnected
            log.error("discord gateway stopped: %s", error)
        finally:
            self.loop.run_until_complete(self.gateway.close())

    def stop(self) -> None:
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self.gateway.close(), self.loop).result(timeout=10)
        self.join(timeout=10)


def run_discord(settings: Settings) -> None:
    """`vigie discord`: the gateway connection(s) in the foreground."""
    if settings.discord.token is None:
        raise SystemExit("vigie discord: VIGIE_DISCORD__TOKEN is not set")
    runtime = build_runtime(settings)
    try:
        from bot.dispatch import Dispatcher
        from bot.ingest import Ingestor
        from bot.platforms.discord import DiscordConfig, run_gateway

        config = DiscordConfig.build(settings.discord, workspace=runtime.workspace)
        asyncio.run(run_gateway(config, Ingestor(runtime.store, runtime.queue), Dispatcher(runtime)))
    finally:
        runtime.close()


def serve(settings: Settings, host: str, port: int) -> None:
    runtime = build_runtime(settings)
    slack = slack_bolt_app(runtime)
    socket = _socket_mode(runtime, slack)
    try:
        uvicorn.run(make_app(runtime, slack), host=host, port=port, log_level=settings.log_level.lower())
    finally:
        if socket is not None:
            socket.close()
        runtime.close()


def _socket_mode(runtime: Runtime, slack: Any | None) -> Any | None:
    token = runtime.settings.slack.app_token
    if slack is None or token is None:
        return None
    from bot.platforms.slack.socket_mode import start_socket_mode

    return start_socket_mode(slack, token)


def worker_main(settings: Settings, *, burst: bool = False) -> None:
    """One worker process: the runtime, the sweeper thread, and RQ's loop with the scheduler."""
    runtime = build_runtime(settings)
    install_runtime(runtime)
    if not wait_for_redis(runtime.redis.client, timeout=30):
        raise SystemExit("vigie worker: Redis does not answer")
    from bot.store.counters import RedisStatsSink

    stats = RedisStatsSink(runtime.redis.client)

    def flush_rule_stats() -> None:
        counters = runtime.rules.current.drain_stats()
        if counters:
            stats.add(counters)

    periodic: list[Callable[[], object]] = [flush_rule_stats]
    slack = runtime.team_chats.get("slack")
    if slack is not None:
        periodic.append(slack.flush_digests)  # type: ignore[attr-defined]
    sweeper = Sweeper(runtime.store, runtime.queue, settings.worker.sweep_interval_seconds, periodic)
    if not burst:
        from bot.periodic import ensure_scheduled

        ensure_scheduled(runtime)
        sweeper.start()
    try:
        run_worker(runtime.redis.client, burst=burst, with_scheduler=not burst)
    finally:
        sweeper.stop()
        flush_rule_stats()
        install_runtime(None)
        runtime.close()


def spawn_workers(count: int, redis_url: str, settings: Settings) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env["VIGIE_REDIS_URL"] = redis_url
    env["VIGIE_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url is not None:
        env["VIGIE_DATABASE_URL"] = settings.database_url.get_secret_value()
    if settings.workspace_path is not None:
        env["VIGIE_WORKSPACE"] = str(settings.workspace_path.resolve())
    env["VIGIE_RULES_DIR"] = str(settings.rules_path.resolve())
    if settings.webhook.secret is not None:
        env["VIGIE_WEBHOOK__SECRET"] = settings.webhook.secret.get_secret_value()
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env=env,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the workers in order
        )
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown: finish the current job
    deadline = time.monotonic() + timeout
    for worker in workers:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            worker.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@contextmanager
def stack(
    settings: Settings, *, host: str, port: int, workers: int
) -> Iterator[tuple[Runtime, ServerThread]]:
    """HTTP server + worker processes around one runtime; everything stopped on exit."""
    runtime = build_runtime(settings, migrate=True)
    slack = slack_bolt_app(runtime)
    server = ServerThread(make_app(runtime, slack), host, port)
    children: list[subprocess.Popen[bytes]] = []
    discord: DiscordThread | None = None
    socket: Any | None = None
    try:
        server.start()
        server.wait_started()
        children = spawn_workers(workers, runtime.redis.url, settings)
        socket = _socket_mode(runtime, slack)
        if settings.discord.token is not None:
            discord = DiscordThread(runtime)
            discord.start()
        yield runtime, server
    finally:
        if discord is not None:
            discord.stop()
        if socket is not None:
            socket.close()
        stop_workers(children)
        server.stop()
        runtime.close()


def run_all(settings: Settings, host: str, port: int, workers: int) -> None:
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with stack(settings, host=host, port=port, workers=workers) as (runtime, server):
        address = f"http://{host}:{server.port}"
        print(f"Vigie is running on {address} with {workers} worker(s). Ctrl-C stops.", flush=True)
        print(f"  store: {runtime.store.db.engine.url.render_as_string(hide_password=True)}", flush=True)
        print(f"  redis: {'embedded' if runtime.redis.embedded is not None else 'external'}", flush=True)
        while not stopping.wait(0.5):
            pass
        print("Stopping…", flush=True)
