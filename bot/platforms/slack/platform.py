"""Wiring from settings: what `vigie serve`, `vigie run` and the worker's applier call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr
from redis import Redis
from slack_bolt import App
from slack_sdk import WebClient

from bot.platforms.slack.app import build_app
from bot.platforms.slack.client import build_web_client
from bot.platforms.slack.customer import SlackCustomerChannel
from bot.platforms.slack.identity import workspace_staff_lookup
from bot.platforms.slack.team_chat import SlackTeamChat
from bot.ports import Dispatch, Ingest
from bot.settings import SlackSettings
from bot.workspace import Workspace


def slack_enabled(settings: SlackSettings) -> bool:
    return settings.bot_token is not None


def slack_channels(workspace: Workspace) -> dict[str, str]:
    """vigie.yaml channel name → Slack channel id, for the channels that have one."""
    return {name: targets.slack for name, targets in workspace.channels.items() if targets.slack}


@dataclass(frozen=True)
class SlackPorts:
    client: WebClient
    team_chat: SlackTeamChat
    customer: SlackCustomerChannel


def slack_ports(
    settings: SlackSettings, workspace: Workspace, redis: Redis, *, clock: Callable[[], float] = time.time
) -> SlackPorts:
    """The worker side: TeamChat and CustomerChannel for the applier (and flush_digests for the
    scheduler). Makes no network call."""
    client = build_web_client(settings.bot_token, base_url=settings.api_url)
    return SlackPorts(
        client=client,
        team_chat=SlackTeamChat(
            client, redis, channels=slack_channels(workspace), lang=workspace.language, clock=clock
        ),
        customer=SlackCustomerChannel(client, redis, clock=clock, lang=workspace.language),
    )


def slack_app(
    settings: SlackSettings, workspace: Workspace, redis: Redis, *, ingest: Ingest, dispatch: Dispatch
) -> App:
    """The web side: the Bolt app (calls auth.test once, which also checks the token)."""
    if settings.bot_token is None:
        raise ValueError("VIGIE_SLACK__BOT_TOKEN is not set")
    if settings.signing_secret is None and settings.app_token is None:
        raise ValueError(
            "VIGIE_SLACK__SIGNING_SECRET is required in HTTP mode (or set VIGIE_SLACK__APP_TOKEN)"
        )

    client = build_web_client(settings.bot_token, base_url=settings.api_url)
    return build_app(
        client=client,
        signing_secret=settings.signing_secret or SecretStr(""),
        ingest=ingest,
        dispatch=dispatch,
        redis=redis,
        staff=workspace_staff_lookup(workspace),
        team_channels=set(slack_channels(workspace).values()),
        lang=workspace.language,
    )
