"""The Slack Web API client and the translation of its failures into the applier's vocabulary.

Connection resets and 500/503 are retried in place a couple of times (short backoff); a 429 is
never slept on here, because slack_sdk's `RateLimitErrorRetryHandler` sleeps in the calling
thread and would hold an RQ worker for the whole `Retry-After`. It becomes `RetryLater` instead,
and the applier reschedules the effect.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar
from urllib.error import URLError

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from bot.ports import PermanentFailure, RetryLater

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 10  # seconds; Slack answers in well under a second, a hung proxy should not hold a worker
SERVER_ERROR_RETRY_AFTER = 5.0  # after the in-place retries, let the applier come back later
CONNECTION_RETRY_AFTER = 10.0
RETRY_BACKOFF = 0.5  # in-place retries wait 0.5 s then 1 s: short enough to keep a worker busy
DEFAULT_RETRY_AFTER = 1.0  # a 429 without Retry-After (Slack always sends it; proxies may not)

# Errors that will not go away by retrying: the effect fails, visibly, and is not retried.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


class ProportionalJitter(Jitter):
    """Up to half the wait again: spreads workers apart. slack_sdk's default adds up to a full second
    whatever the wait, which dwarfs a 0.5 s backoff."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 2)


def build_web_client(
    token: SecretStr | str | None,
    *,
    base_url: str | None = None,
    timeout: int = DEFAULT_TIMEOUT,
    backoff: float = RETRY_BACKOFF,
) -> WebClient:
    """A WebClient for Vigie: `base_url` (VIGIE_SLACK__API_URL) points it at a proxy or a fake Slack."""
    raw = token.get_secret_value() if isinstance(token, SecretStr) else token
    url = base_url or WebClient.BASE_URL
    if not url.endswith("/"):
        # slack_sdk joins method names onto the base URL; without the slash the last segment is lost.
        url += "/"
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=ProportionalJitter())
    return WebClient(
        token=raw,
        base_url=url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=interval),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=interval),
        ],
    )


def retry_after_seconds(error: SlackApiError) -> float:
    headers = error.response.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER


def slack_error_code(error: SlackApiError) -> str:
    data = error.response.data
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return "unknown_error"


def call_slack(method: str, call: Callable[[], T]) -> T:
    """Run one Web API call; translate its failure into `RetryLater` or `PermanentFailure`."""
    try:
        return call()
    except SlackApiError as error:
        status = error.response.status_code
        code = slack_error_code(error)
        if status == 429 or code == "ratelimited":
            raise RetryLater(retry_after_seconds(error), f"slack {method}: rate limited") from None
        if status >= 500 or code in TRANSIENT_ERRORS:
            raise RetryLater(SERVER_ERROR_RETRY_AFTER, f"slack {method}: {status} {code}") from None
        raise PermanentFailure(f"slack {method}: {code}") from None
    except (URLError, OSError, SlackClientError) as error:
        # The message of a connection error can carry the URL, never the token: safe to keep.
        raise RetryLater(CONNECTION_RETRY_AFTER, f"slack {method}: {type(error).__name__}") from None
