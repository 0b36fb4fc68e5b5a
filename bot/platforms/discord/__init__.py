"""Discord: the gateway process (ingress, staff interactions, slash commands) and the worker-side
ports (team channels, replies and moderation over REST). See docs/discord.md."""

from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.customer import DiscordCustomerChannel
from bot.platforms.discord.gateway import DiscordGateway, build_intents, run_gateway
from bot.platforms.discord.rest import DiscordRest, RedisRateLimiter
from bot.platforms.discord.team_chat import DiscordTeamChat

__all__ = [
    "DiscordConfig",
    "DiscordCustomerChannel",
    "DiscordGateway",
    "DiscordRest",
    "DiscordTeamChat",
    "RedisRateLimiter",
    "build_intents",
    "run_gateway",
]
