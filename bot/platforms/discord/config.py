"""Everything the Discord adapter needs to know, in one validated model.

`bot.settings.DiscordSettings` holds what comes from the environment (`VIGIE_DISCORD__*`); the
workspace (vigie.yaml) says which Discord channels are team channels and which language Vigie writes
in. `DiscordConfig.build` merges both, so the adapter never reads settings or YAML itself.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ModerationVerb = Literal["delete", "hide", "warn", "timeout", "kick", "ban"]
Lang = Literal["en", "fr"]

# Kick and ban need an explicit opt-in: a bad rule must not be able to empty a server.
DEFAULT_ALLOWED: tuple[ModerationVerb, ...] = ("delete", "hide", "warn", "timeout")


def _ids(value: Any) -> Any:
    """Accept `"1,2"` from an environment variable as well as a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class DiscordConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    token: SecretStr | None = None
    guilds: tuple[int, ...] = Field(default=(), description="Guild allow-list; empty allows every guild.")
    api_url: str | None = Field(default=None, description="REST base, e.g. http://127.0.0.1:9000/api/v10")
    gateway_url: str | None = Field(default=None, description="Gateway URL, e.g. ws://127.0.0.1:9000/gateway")
    shard_count: int | None = Field(default=None, ge=1, description="Set to run an AutoShardedClient.")
    shard_ids: tuple[int, ...] | None = None

    support_channels: tuple[int, ...] = Field(
        default=(), description="Guild channels whose messages are customer conversations, like DMs."
    )
    staff_channels: tuple[int, ...] = Field(
        default=(), description="Team channels: their threads hold internal drafts, never ingested."
    )
    channels: dict[str, int] = Field(default_factory=dict, description="Named team channel -> channel id.")
    mod_log_channel: int | None = None
    staff_roles: tuple[str, ...] = Field(default=(), description="Role ids or names of staff.")
    moderator_roles: tuple[str, ...] = Field(default=(), description="Role ids or names of moderators.")
    exempt_roles: tuple[str, ...] = Field(
        default=("staff", "moderator"), description="Vigie roles never timed out, kicked or banned."
    )
    allowed_actions: tuple[ModerationVerb, ...] = DEFAULT_ALLOWED
    warn_via: Literal["dm", "channel", "dm_then_channel"] = "dm_then_channel"
    command_guilds: tuple[int, ...] = Field(
        default=(), description="Sync slash commands to these guilds (instant) instead of globally."
    )
    sync_commands: bool = True
    lang: Lang = "en"
    guild_ready_timeout: float = Field(default=2.0, gt=0)
    max_ratelimit_timeout: float = Field(
        default=30.0, ge=30.0, description="Longer 429 waits become RetryLater (discord.py's floor is 30 s)."
    )
    request_timeout: float = Field(default=60.0, gt=0)
    global_rate: int = Field(default=45, ge=1, description="Requests/s across all workers (Discord: 50).")
    route_rate: int = Field(default=5, ge=1, description="Requests per route window across workers.")
    route_window: float = Field(default=5.0, gt=0)
    max_local_wait: float = Field(default=10.0, ge=0, description="Longer limiter waits become RetryLater.")

    split_lists = field_validator(
        "guilds",
        "support_channels",
        "staff_channels",
        "staff_roles",
        "moderator_roles",
        "exempt_roles",
        "allowed_actions",
        "command_guilds",
        mode="before",
    )(_ids)

    @classmethod
    def build(cls, settings: Any = None, *, workspace: Any = None, **overrides: Any) -> DiscordConfig:
        """Merge `bot.settings.DiscordSettings` (any pydantic model or mapping), the workspace's Discord
        channel ids and language, and explicit overrides (which win)."""
        data: dict[str, Any] = {}
        if settings is not None:
            if isinstance(settings, BaseModel):
                data.update({name: getattr(settings, name) for name in type(settings).model_fields})
            else:
                data.update(dict(settings))
        if workspace is not None:
            named = {
                name: int(target.discord)
                for name, target in getattr(workspace, "channels", {}).items()
                if getattr(target, "discord", None) and str(target.discord).isdigit()
            }
            data.setdefault("channels", named)
            data.setdefault("staff_channels", tuple(named.values()))
            language = getattr(workspace, "language", None)
            if language in ("en", "fr"):
                data.setdefault("lang", language)
        data.update(overrides)
        return cls.model_validate(data)

    def token_value(self) -> str:
        if self.token is None:
            raise ValueError("VIGIE_DISCORD__TOKEN is not set")
        return self.token.get_secret_value()

    def guild_allowed(self, guild_id: int | None) -> bool:
        return guild_id is None or not self.guilds or guild_id in self.guilds

    def resolve_channel(self, channel: str) -> int:
        """A team channel given as a snowflake or as a workspace channel name."""
        if channel.isdigit():
            return int(channel)
        if channel in self.channels:
            return self.channels[channel]
        raise KeyError(channel)
