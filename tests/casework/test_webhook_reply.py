"""The webhook reply channel against a real local HTTP server: signed POSTs, idempotency keys,
retry after a failure of the endpoint, permanent refusal on 4xx, and the secret never in errors."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.events import Action, Author, Event
from bot.platforms.webhook.reply import ReplyTarget, WebhookReplyChannel, targets_from
from bot.platforms.webhook.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from bot.ports import CustomerChannel, PermanentFailure, RetryLater
from tests.casework.support import Endpoint, make_workspace

SECRET = "s3cret-for-tests"


def review() -> Event:
    return Event(
        source="google-reviews",
        kind="review",
        external_id="r-8841",
        text="Colis cassé",
        author=Author(id="u-19"),
    )


def channel(endpoint: Endpoint, timeout: float = 5.0) -> WebhookReplyChannel:
    return WebhookReplyChannel({"google-reviews": ReplyTarget(endpoint.url, SECRET)}, timeout=timeout)


def test_it_is_a_customer_channel(endpoint: Endpoint) -> None:
    assert isinstance(channel(endpoint), CustomerChannel)


def test_a_signed_post_with_the_idempotency_key(endpoint: Endpoint) -> None:
    reply_id = channel(endpoint).deliver_reply(
        review(), "Nous sommes désolés.", idempotency_key="draft:4:deliver_reply"
    )
    assert reply_id == "r-1"
    ((headers, body),) = endpoint.received
    verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body, tolerance=60)
    assert headers["Idempotency-Key"] == "draft:4:deliver_reply"
    assert json.loads(body) == {
        "in_reply_to": "r-8841",
        "source": "google-reviews",
        "text": "Nous sommes désolés.",
        "idempotency_key": "draft:4:deliver_reply",
    }


def test_a_failing_endpoint_is_retried_later_then_delivered_with_the_same_key(endpoint: Endpoint) -> None:
    endpoint.script = [(503, {"Retry-After": "7"}, b"down"), (500, {}, b"oops"), (200, {}, b"ok")]
    sender = channel(endpoint)
    with pytest.raises(RetryLater) as first:
        sender.deliver_reply(review(), "x", idempotency_key="k1")
    assert first.value.seconds == 7
    with pytest.raises(RetryLater):
        sender.deliver_reply(review(), "x", idempotency_key="k1")
    assert sender.deliver_reply(review(), "x", idempotency_key="k1") == "k1"  # no id in the answer: the key
    assert [h["Idempotency-Key"] for h, _b in endpoint.received] == ["k1", "k1", "k1"]


def test_429_is_retried_and_4xx_is_permanent(endpoint: Endpoint) -> None:
    endpoint.script = [(429, {}, b""), (400, {}, b"bad")]
    sender = channel(endpoint)
    with pytest.raises(RetryLater):
        sender.deliver_reply(review(), "x", idempotency_key="k")
    with pytest.raises(PermanentFailure) as failure:
        sender.deliver_reply(review(), "x", idempotency_key="k")
    assert "HTTP 400" in str(failure.value) and SECRET not in str(failure.value)


def test_timeouts_and_unreachable_endpoints_are_retried(endpoint: Endpoint) -> None:
    endpoint.delay = 0.5
    with pytest.raises(RetryLater, match="timed out"):
        channel(endpoint, timeout=0.1).deliver_reply(review(), "x", idempotency_key="k")
    gone = WebhookReplyChannel(
        {"google-reviews": ReplyTarget("http://127.0.0.1:9/x", SECRET)}, client=httpx.Client(timeout=1)
    )
    with pytest.raises(RetryLater, match="unreachable"):
        gone.deliver_reply(review(), "x", idempotency_key="k")


def test_unconfigured_sources_and_moderation_are_refused(endpoint: Endpoint) -> None:
    sender = channel(endpoint)
    other = review().model_copy(update={"source": "trustpilot"})
    with pytest.raises(PermanentFailure, match="no reply_url"):
        sender.deliver_reply(other, "x", idempotency_key="k")
    with pytest.raises(PermanentFailure):
        sender.moderate(review(), Action(type="hide", rule="r"), reason="r", idempotency_key="k")


def test_targets_resolve_each_source_secret() -> None:
    ws = make_workspace(
        sources={
            "shop": {"reply_url": "http://x/r", "secret": "own"},
            "reviews": {"reply_url": "http://y/r"},
            "silent": {},
        }
    )
    targets = targets_from(ws, "global")
    assert targets == {
        "shop": ReplyTarget("http://x/r", "own"),
        "reviews": ReplyTarget("http://y/r", "global"),
    }
    assert targets_from(ws, None) == {"shop": ReplyTarget("http://x/r", "own")}
