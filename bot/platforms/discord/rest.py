"""Discord REST from synchronous RQ workers.

Each worker process runs discord.py's own `HTTPClient` (its per-bucket rate limiting, retries and
audit-log reasons) on one event loop in a daemon thread, and calls it with
`asyncio.run_coroutine_threadsafe`. discord.py only knows about its own requests, so a limiter in Redis
paces all workers together: a global budget under Discord's 50 requests/s and a budget per route and
major parameter; a 429 seen by one worker blocks that route (or everything, for a global 429) for all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
import discord
import redis
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, MultipartParameters, Route

from bot.platforms.discord.config import DiscordConfig
from bot.ports import PermanentFailure, RetryLater

log = logging.getLogger("vigie.discord.rest")
T = TypeVar("T")

# GCRA over Redis TIME, so workers on several machines share one clock. Both budgets are checked before
# either is consumed, so a request refused by one does not burn the other. Returns ms to wait (0 = go).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 3, 4 do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl > wait then wait = ttl end
end
if wait > 0 then return wait end
local tats = {}
for i = 1, 2 do
  local interval = tonumber(ARGV[i * 2 - 1])
  local burst = tonumber(ARGV[i * 2])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local allow_at = tat + interval - burst
  if allow_at > now and allow_at - now > wait then wait = allow_at - now end
  tats[i] = tat + interval
end
if wait > 0 then return wait end
for i = 1, 2 do
  redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil(tats[i] - now) + 1000)
end
return 0
"""


class RedisRateLimiter:
    """Cross-process pacing of Discord requests. `acquire` returns the seconds to wait first."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        global_rate: float = 45.0,
        route_rate: int = 5,
        route_window: float = 5.0,
        prefix: str = "vigie:discord:rl",
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.global_interval_ms = 1000.0 / global_rate
        # A one-second burst globally; per route, the whole window's budget may go at once, as Discord's
        # own buckets allow.
        self.global_burst_ms = 1000.0
        self.route_interval_ms = route_window * 1000.0 / route_rate
        self.route_burst_ms = route_window * 1000.0
        self._script = client.register_script(_ACQUIRE)

    def _keys(self, route_key: str) -> list[str]:
        return [
            f"{self.prefix}:global",
            f"{self.prefix}:route:{route_key}",
            f"{self.prefix}:block:global",
            f"{self.prefix}:block:{route_key}",
        ]

    def try_acquire(self, route_key: str) -> float:
        wait_ms = self._script(
            keys=self._keys(route_key),
            args=[self.global_interval_ms, self.global_burst_ms, self.route_interval_ms, self.route_burst_ms],
        )
        return float(wait_ms) / 1000.0

    def block(self, route_key: str | None, seconds: float) -> None:
        """Tell every worker to hold requests on `route_key` (None: all routes) for `seconds`."""
        name = "global" if route_key is None else route_key
        millis = max(1, int(seconds * 1000))
        self.redis.set(f"{self.prefix}:block:{name}", "1", px=millis)


def route_key(route: Route) -> str:
    return f"{route.key}:{route.major_parameters}"


# discord.py retries these itself, sleeping 1, 3, 5… s in between; Vigie reschedules the job instead.
SERVER_ERRORS = frozenset({500, 502, 504, 524})
SERVER_ERROR_RETRY_SECONDS = 2.0
# A 429 this short is cheaper to wait out in place (discord.py does) than to reschedule the job.
SHORT_RATE_LIMIT_SECONDS = 0.5


class LimitedHTTPClient(HTTPClient):
    """discord.py's HTTP client, asking the shared limiter before each request."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        limiter: RedisRateLimiter | None,
        max_wait: float,
        max_ratelimit_timeout: float,
    ) -> None:
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._on_request_end)
        super().__init__(loop, http_trace=trace, max_ratelimit_timeout=max_ratelimit_timeout)
        self.limiter = limiter
        self.max_wait = max_wait
        self._current_route: dict[str, str] = {}

    async def request(self, route: Route, **kwargs: Any) -> Any:
        if self.limiter is not None:
            key = route_key(route)
            self._current_route[str(route.url)] = key
            waited = 0.0
            while True:
                wait = await asyncio.to_thread(self.limiter.try_acquire, key)
                if wait <= 0:
                    break
                if waited + wait > self.max_wait:
                    raise RetryLater(wait, f"Discord rate limit budget for {route.key}")
                waited += wait
                await asyncio.sleep(wait)
            try:
                return await super().request(route, **kwargs)
            finally:
                self._current_route.pop(str(route.url), None)
        return await super().request(route, **kwargs)

    async def _on_request_end(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        """A retryable 5xx, or a 429 longer than SHORT_RATE_LIMIT_SECONDS, ends the call here as
        RetryLater, before discord.py would sleep on it inside the worker's job: the job is
        rescheduled instead and the worker takes other work meanwhile (as with Slack)."""
        status = params.response.status
        if status in SERVER_ERRORS:
            raise RetryLater(SERVER_ERROR_RETRY_SECONDS, f"Discord server error {status}")
        if status != 429:
            return
        headers = params.response.headers
        try:
            seconds = float(headers.get("Retry-After", "1"))
        except ValueError:
            seconds = 1.0
        if self.limiter is not None:
            # Without `Via` the 429 came from Cloudflare (a ban on the IP): every route holds back.
            is_global = (
                headers.get("X-RateLimit-Global", "").lower() == "true"
                or headers.get("X-RateLimit-Scope") == "global"
                or not headers.get("Via")
            )
            url = str(params.url.with_query(None))
            key = None if is_global else self._current_route.get(url)
            await asyncio.to_thread(self.limiter.block, key, seconds)
        if seconds > SHORT_RATE_LIMIT_SECONDS:
            raise RetryLater(seconds, "Discord rate limit")


def point_at(api_url: str | None, gateway_url: str | None) -> None:
    """Aim discord.py at another Discord (a proxy, or the fake used by the tests). Both are class
    attributes in discord.py, hence process-wide."""
    if api_url:
        Route.BASE = api_url.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class DiscordRest:
    """One per worker process: a logged-in HTTPClient on a private loop, callable from sync code."""

    def __init__(self, config: DiscordConfig, *, redis_client: redis.Redis | None = None) -> None:
        self.config = config
        point_at(config.api_url, config.gateway_url)
        self.limiter = (
            RedisRateLimiter(
                redis_client,
                global_rate=config.global_rate,
                route_rate=config.route_rate,
                route_window=config.route_window,
            )
            if redis_client is not None
            else None
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vigie-discord-rest", daemon=True)
        self._thread.start()
        self._http: LimitedHTTPClient | None = None
        self._login_lock = threading.Lock()
        self.bot_user_id: int | None = None

    def _client(self) -> LimitedHTTPClient:
        with self._login_lock:
            if self._http is None:

                async def login() -> LimitedHTTPClient:
                    http = LimitedHTTPClient(
                        self._loop,
                        limiter=self.limiter,
                        max_wait=self.config.max_local_wait,
                        max_ratelimit_timeout=self.config.max_ratelimit_timeout,
                    )
                    me = await http.static_login(self.config.token_value())
                    self.bot_user_id = int(me["id"])
                    return http

                self._http = self._run(login())
            return self._http

    def _run(self, coro: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await coro

        future = asyncio.run_coroutine_threadsafe(wrapped(), self._loop)
        try:
            return future.result(timeout=self.config.request_timeout)
        except FutureTimeout:
            future.cancel()
            raise RetryLater(5.0, "Discord did not answer in time") from None
        except discord.LoginFailure as error:
            raise PermanentFailure(f"Discord refused the bot token: {error}") from None
        except discord.RateLimited as error:
            raise RetryLater(error.retry_after, "Discord rate limit") from None
        except discord.DiscordServerError as error:
            raise RetryLater(5.0, f"Discord server error {error.status}") from None
        except discord.HTTPException as error:
            if error.status == 429:
                retry = _retry_after(error)
                if self.limiter is not None:
                    self.limiter.block(None, retry)
                raise RetryLater(retry, "Discord rate limit") from None
            raise
        except (aiohttp.ClientError, OSError) as error:
            raise RetryLater(5.0, f"cannot reach Discord: {type(error).__name__}") from None

    def call(self, action: Callable[[HTTPClient], Awaitable[T]]) -> T:
        """Run `action(http)` on the client's loop and map failures to the port's exceptions:
        rate limits, 5xx and network errors → RetryLater; other HTTP errors → PermanentFailure."""
        http = self._client()
        try:
            return self._run(action(http))
        except discord.HTTPException as error:
            raise PermanentFailure(describe(error)) from None

    def call_raw(self, action: Callable[[HTTPClient], Awaitable[T]]) -> T:
        """Like `call`, but HTTP errors other than rate limits and 5xx reach the caller, which may
        treat some (a 404 on delete) as success."""
        return self._run(action(self._client()))

    def close(self) -> None:
        if self._http is not None:
            try:
                self._run(self._http.close())
            except Exception:  # closing is best effort: the process is going away
                log.debug("closing the Discord HTTP client failed", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def _retry_after(error: discord.HTTPException) -> float:
    header = error.response.headers.get("Retry-After") if error.response is not None else None
    try:
        return max(0.5, float(header)) if header else 5.0
    except ValueError:
        return 5.0


def describe(error: discord.HTTPException) -> str:
    """An error for the team to read, without the request (which may carry tokens)."""
    return f"Discord {error.status} (code {error.code}): {error.text[:200]}"


def nonce_for(idempotency_key: str) -> str:
    """Discord nonces are at most 25 characters; with `enforce_nonce` a resend with the same nonce
    within a few minutes returns the first message instead of posting a second one."""
    return hashlib.blake2b(idempotency_key.encode(), digest_size=12).hexdigest()[:25]


def message_params(
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    components: list[dict[str, Any]] | None = None,
    nonce: str | None = None,
    mention_users: tuple[str, ...] = (),
    reply_to: int | None = None,
) -> MultipartParameters:
    """A message body. Mentions are off unless named: a customer's text quoted in a card or a
    mod-log entry must never ping @everyone."""
    payload: dict[str, Any] = {"allowed_mentions": {"parse": [], "users": list(mention_users)}}
    if content is not None:
        payload["content"] = content
    if embed is not None:
        payload["embeds"] = [embed.to_dict()]
    if components is not None:
        payload["components"] = components
    if nonce is not None:
        payload["nonce"] = nonce
        payload["enforce_nonce"] = True
    if reply_to is not None:
        payload["message_reference"] = {"message_id": str(reply_to), "fail_if_not_exists": False}
    return MultipartParameters(payload=payload, multipart=None, files=None)
