"""Process settings from the environment (`VIGIE_*`, nested with `__`) and `.env`.

The workspace itself (teams, staff, channels) lives in vigie.yaml, see bot/workspace.py; this module
only says where things are and holds the secrets. A bad value stops start-up with the setting's
environment name and the reason (`SettingsError`)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.workspace import Workspace, load_workspace

REPO_ROOT = Path(__file__).resolve().parents[1]


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="413 above this size.")
    rate_per_source: int = Field(default=600, ge=1, description="Requests per minute per source and client.")


class WebhookSettings(BaseModel):
    secret: SecretStr | None = Field(default=None, description="HMAC secret for POST /v1/events.")
    tolerance_seconds: int = Field(default=300, ge=1, description="Signed timestamps older than this: 401.")


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = Field(default=None, description="xapp-… enables Socket Mode.")
    api_url: str | None = Field(default=None, description="Web API base URL, for tests and proxies.")


class DiscordSettings(BaseModel):
    token: SecretStr | None = None
    guilds: list[int] = Field(default_factory=list, description="Guild allow-list; empty allows all.")
    api_url: str | None = None
    gateway_url: str | None = None
    shard_count: int | None = Field(default=None, ge=1)
    support_channels: list[int] = Field(default_factory=list, description="Channels treated like DMs.")
    mod_log_channel: int | None = None
    staff_roles: list[str] = Field(default_factory=list, description="Discord role ids or names of staff.")
    moderator_roles: list[str] = Field(default_factory=list, description="Discord role ids or names of mods.")
    allowed_actions: list[Literal["delete", "hide", "warn", "timeout", "kick", "ban"]] = Field(
        default_factory=lambda: list[Literal["delete", "hide", "warn", "timeout", "kick", "ban"]](
            ["delete", "hide", "warn", "timeout"]
        ),
        description="Moderation Vigie may carry out; kick and ban only when listed.",
    )
    warn_via: Literal["dm", "channel", "dm_then_channel"] = "dm_then_channel"
    command_guilds: list[int] = Field(
        default_factory=list, description="Sync slash commands to these guilds."
    )


class WorkerSettings(BaseModel):
    processes: int = Field(default=2, ge=1, le=64, description="Worker processes started by `vigie run`.")
    sweep_interval_seconds: float = Field(default=5.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VIGIE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(default=Path(".vigie"), description="SQLite file, embedded Redis, local state.")
    database_url: SecretStr | None = Field(default=None, description="SQLAlchemy URL; default SQLite.")
    redis_url: SecretStr | None = Field(default=None, description="Redis URL; default: embedded server.")
    workspace: Path | None = Field(default=None, description="vigie.yaml; default ./vigie.yaml if present.")
    rules_dir: Path | None = Field(
        default=None, description="Rule packs; default ./rules or the bundled one."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    http: HttpSettings = Field(default_factory=HttpSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'vigie.db').resolve()}"

    @property
    def workspace_path(self) -> Path | None:
        if self.workspace is not None:
            return self.workspace
        local = Path("vigie.yaml")
        return local if local.exists() else None

    @property
    def rules_path(self) -> Path:
        if self.rules_dir is not None:
            return self.rules_dir
        local = Path("rules")
        return local if local.is_dir() else REPO_ROOT / "rules"

    @cached_property
    def workspace_config(self) -> Workspace:
        return load_workspace(self.workspace_path)

    def masked(self) -> dict[str, Any]:
        """The effective settings for `vigie config check`: secrets shown as set or unset only."""
        data = self.model_dump(mode="json")
        data["database_url"] = _mask_url(self.database_url)
        data["redis_url"] = _mask_url(self.redis_url)
        data["effective_database"] = _mask_url(SecretStr(self.sqlalchemy_url))
        data["effective_redis"] = "embedded" if self.redis_url is None else data["redis_url"]
        return data


def _mask_url(value: SecretStr | None) -> str | None:
    """Keep scheme, host and database of a URL, hide its password."""
    if value is None:
        return None
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    raw = value.get_secret_value()
    parts = urlsplit(raw)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":**********@"))
    if parts.query:
        # libpq and redis-py also take the password as a query parameter (?password=…).
        pairs = [
            (key, "**********" if "pass" in key.lower() or "secret" in key.lower() else item)
            for key, item in parse_qsl(parts.query, keep_blank_values=True)
        ]
        parts = parts._replace(query=urlencode(pairs, safe="*"))
    return urlunsplit(parts)


class SettingsError(Exception):
    """A setting is invalid; the message names its environment variable."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = []
        for item in error.errors():
            name = "VIGIE_" + "__".join(str(p).upper() for p in item["loc"])
            lines.append(f"{name}: {item['msg']}")
        raise SettingsError("\n".join(lines)) from None
