"""Everything one Vigie process needs, built once from settings: the store, Redis and the job queue,
the workspace, the rulebook and the configured platforms."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot.ports import CustomerChannel, TeamChat
from bot.queue import JobQueue, RedisHandle, connect
from bot.rulebook import RulebookHolder
from bot.rulebook.stats import set_default_sink
from bot.settings import Settings
from bot.store.counters import RedisStatsSink, RedisWindowCounter, generation_reader
from bot.store.migrate import upgrade
from bot.store.unit import Store
from bot.workspace import Workspace

log = logging.getLogger("vigie.runtime")


@dataclass
class Runtime:
    settings: Settings
    store: Store
    redis: RedisHandle
    queue: JobQueue
    workspace: Workspace
    rules: RulebookHolder
    team_chats: dict[str, TeamChat] = field(default_factory=dict)
    customers: dict[str, CustomerChannel] = field(default_factory=dict)

    @property
    def counter(self) -> RedisWindowCounter:
        return RedisWindowCounter(self.redis.client)

    @property
    def rule_stats(self) -> RedisStatsSink:
        return RedisStatsSink(self.redis.client)

    def close(self) -> None:
        self.store.dispose()
        self.redis.close()


def build_runtime(settings: Settings, *, migrate: bool = False, redis_url: str | None = None) -> Runtime:
    """Build a process's runtime. `redis_url` overrides the settings (workers of `vigie run` are
    handed the embedded server's socket)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = redis_url or (settings.redis_url.get_secret_value() if settings.redis_url else None)
    store = Store(settings.sqlalchemy_url)
    if migrate:
        upgrade(store.db.engine)
    handle = connect(url, Path(settings.data_dir))
    runtime = Runtime(
        settings=settings,
        store=store,
        redis=handle,
        queue=JobQueue(handle.client),
        workspace=settings.workspace_config,
        rules=RulebookHolder(settings.rules_path, generation=generation_reader(handle.client)),
    )
    # Every process (worker, HTTP, gateway, CLI) records human overrides of rule decisions in Redis.
    set_default_sink(RedisStatsSink(handle.client))
    _attach_platforms(runtime)
    return runtime


def _attach_platforms(runtime: Runtime) -> None:
    """The worker-side ports of every configured platform. The console is always there: it is where
    teams without Slack or Discord work, and the outbox of sources that have no way back."""
    from bot.platforms.console.chat import ConsoleCustomerChannel, ConsoleTeamChat

    settings, workspace = runtime.settings, runtime.workspace
    runtime.team_chats["console"] = ConsoleTeamChat(runtime.store)
    runtime.customers["console"] = ConsoleCustomerChannel(runtime.store)
    if settings.slack.bot_token is not None:
        from bot.platforms.slack.platform import slack_ports

        ports = slack_ports(settings.slack, workspace, runtime.redis.client)
        runtime.team_chats["slack"] = ports.team_chat
        runtime.customers["slack"] = ports.customer
    if settings.discord.token is not None:
        from bot.platforms.discord import DiscordConfig, DiscordCustomerChannel, DiscordRest, DiscordTeamChat

        config = DiscordConfig.build(settings.discord, workspace=workspace)
        rest = DiscordRest(config, redis_client=runtime.redis.client)
        runtime.team_chats["discord"] = DiscordTeamChat(config, rest=rest)
        runtime.customers["discord"] = DiscordCustomerChannel(config, rest=rest)
    from bot.platforms.webhook.reply import WebhookReplyChannel, targets_from

    secret = settings.webhook.secret.get_secret_value() if settings.webhook.secret else None
    targets = targets_from(workspace, secret)
    if targets:
        runtime.customers["webhook"] = WebhookReplyChannel(targets)
