"""Slack: mirrored cards in team channels, in-thread drafting and approval, `/vigie` commands.

Web side: `slack_app()` → `slack_router(app)` (HTTP) or `start_socket_mode(app, token)`.
Worker side: `slack_ports()` → `SlackTeamChat` / `SlackCustomerChannel`; the scheduler calls
`team_chat.flush_digests()` every few seconds.
"""

from bot.platforms.slack.app import build_app
from bot.platforms.slack.client import build_web_client
from bot.platforms.slack.customer import SlackCustomerChannel
from bot.platforms.slack.http import slack_router
from bot.platforms.slack.identity import StaffMatch, workspace_staff_lookup
from bot.platforms.slack.platform import SlackPorts, slack_app, slack_enabled, slack_ports
from bot.platforms.slack.socket_mode import socket_mode_handler, start_socket_mode
from bot.platforms.slack.team_chat import SlackTeamChat

__all__ = [
    "SlackCustomerChannel",
    "SlackPorts",
    "SlackTeamChat",
    "StaffMatch",
    "build_app",
    "build_web_client",
    "slack_app",
    "slack_enabled",
    "slack_ports",
    "slack_router",
    "socket_mode_handler",
    "start_socket_mode",
    "workspace_staff_lookup",
]
