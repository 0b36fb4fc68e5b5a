"""Approved replies to webhook sources (review sites, forms, shops): a signed HTTP POST to the
source's `reply_url`, with the same signature scheme as inbound webhooks, so the receiver verifies
both directions with one secret.

    POST {reply_url}
    Idempotency-Key: draft:42:deliver_reply
    X-Vigie-Timestamp / X-Vigie-Signature: v1=HMAC_SHA256(secret, "v1:{ts}:{body}")
    {"in_reply_to": "<external_id>", "source": "...", "text": "...", "idempotency_key": "..."}

A retried delivery sends the same idempotency key, so a receiver that honours it never shows the
reply twice. 2xx: delivered (the reply's id is the response's `id`, else the key). 408, 425, 429,
5xx and network errors: `RetryLater` (honouring `Retry-After`). Other 4xx, or no reply URL or
secret for the source: `PermanentFailure`, with a message that never contains the secret."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from bot.events import Action, Event
from bot.platforms.webhook.signing import signed_headers
from bot.ports import PermanentFailure, RetryLater
from bot.workspace import Workspace

DEFAULT_TIMEOUT = 10.0  # seconds; a review site slower than this is treated as down and retried
DEFAULT_RETRY = 30.0  # seconds before retrying when the endpoint gave no Retry-After
MAX_RETRY_AFTER = 3600.0  # never park a reply longer than an hour on a receiver's say-so
RETRYABLE = frozenset({408, 425, 429})


@dataclass(frozen=True)
class ReplyTarget:
    url: str
    secret: str


def targets_from(workspace: Workspace, default_secret: str | None) -> dict[str, ReplyTarget]:
    """Resolve each source's reply URL and secret (the source's own, else VIGIE_WEBHOOK__SECRET)."""
    out = {}
    for name, config in workspace.sources.items():
        secret = config.secret.get_secret_value() if config.secret else default_secret
        if config.reply_url and secret:
            out[name] = ReplyTarget(config.reply_url, secret)
    return out


class WebhookReplyChannel:
    """The `CustomerChannel` of webhook sources."""

    name = "webhook"

    def __init__(
        self,
        targets: Mapping[str, ReplyTarget],
        *,
        client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.targets = dict(targets)
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def deliver_reply(self, event: Event, text: str, *, idempotency_key: str) -> str:
        target = self.targets.get(event.source)
        if target is None:
            raise PermanentFailure(f"source {event.source!r} has no reply_url and secret configured")
        body = json.dumps(
            {
                "in_reply_to": event.external_id,
                "source": event.source,
                "text": text,
                "idempotency_key": idempotency_key,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            **signed_headers(target.secret, body),
        }
        try:
            response = self._client.post(target.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise RetryLater(DEFAULT_RETRY, f"{event.source} reply endpoint timed out") from None
        except httpx.TransportError as error:
            raise RetryLater(
                DEFAULT_RETRY, f"{event.source} reply endpoint unreachable: {type(error).__name__}"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return _reply_id(response) or idempotency_key
        reason = f"{event.source} reply endpoint answered HTTP {status}"
        if status >= 500 or status in RETRYABLE:
            raise RetryLater(_retry_after(response), reason)
        raise PermanentFailure(reason)

    def moderate(self, event: Event, action: Action, *, reason: str, idempotency_key: str) -> None:
        raise PermanentFailure(
            f"webhook source {event.source!r} cannot be moderated from Vigie ({action.type})"
        )


def _reply_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str | int) and str(data["id"]):
        return str(data["id"])[:256]
    return None


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Retry-After")
    try:
        seconds = float(raw) if raw is not None else DEFAULT_RETRY
    except ValueError:
        seconds = DEFAULT_RETRY  # an HTTP date: rare from review sites, not worth parsing
    return max(1.0, min(seconds, MAX_RETRY_AFTER))
