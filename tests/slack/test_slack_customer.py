"""The way back to customers in Slack channels: approved replies in their thread, warnings."""

from __future__ import annotations

import pytest

from bot.events import Action, Author, Event
from bot.platforms.slack import SlackCustomerChannel
from bot.ports import PermanentFailure, RetryLater
from tests.fakes.slack_api import FakeSlack
from tests.slack.slack_doubles import CUSTOMER, CUSTOMER_CHANNEL, FakeClock


def slack_event(
    *,
    ts: str = "1700000100.000100",
    thread_ts: str | None = None,
    channel_type: str = "channel",
    channel: str = CUSTOMER_CHANNEL,
) -> Event:
    return Event(
        source="slack",
        kind="message",
        external_id=f"{channel}:{ts}",
        text="Où est mon colis ?",
        author=Author(id=CUSTOMER),
        channel=channel,
        metadata={"ts": ts, "thread_ts": thread_ts or ts, "channel_type": channel_type},
    )


def test_a_reply_goes_to_the_customers_thread_once(
    customer: SlackCustomerChannel, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    ts = customer.deliver_reply(slack_event(), "Il part <demain> !", idempotency_key="d-1:deliver")
    clock.advance(5)
    again = customer.deliver_reply(slack_event(), "Il part <demain> !", idempotency_key="d-1:deliver")
    [post] = fake_slack.posts(CUSTOMER_CHANNEL)
    assert again == ts
    assert (
        post.params["thread_ts"] == "1700000100.000100" and post.params["text"] == "Il part &lt;demain&gt; !"
    )


def test_a_top_level_dm_is_answered_top_level(customer: SlackCustomerChannel, fake_slack: FakeSlack) -> None:
    customer.deliver_reply(
        slack_event(channel="D0123456789", channel_type="im"), "Bonjour", idempotency_key="d-2:deliver"
    )
    assert "thread_ts" not in fake_slack.posts("D0123456789")[0].params


def test_replies_are_paced_and_429_deferred(
    customer: SlackCustomerChannel, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    customer.deliver_reply(slack_event(), "un", idempotency_key="a")
    with pytest.raises(RetryLater):
        customer.deliver_reply(slack_event(), "deux", idempotency_key="b")
    clock.advance(1)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=4)
    with pytest.raises(RetryLater) as later:
        customer.deliver_reply(slack_event(), "deux", idempotency_key="b")
    assert later.value.seconds == 4


def test_warn_is_an_ephemeral_note_and_removal_is_not_possible(
    customer: SlackCustomerChannel, fake_slack: FakeSlack
) -> None:
    event = slack_event()
    warn = Action(type="warn", rule="insults", params={"message": "Merci de rester courtois."})
    customer.moderate(event, warn, reason="insults", idempotency_key="e1:warn")
    customer.moderate(event, warn, reason="insults", idempotency_key="e1:warn")
    [note] = fake_slack.of("chat.postEphemeral")
    assert note.params["user"] == CUSTOMER and note.params["text"] == "Merci de rester courtois."
    with pytest.raises(PermanentFailure, match="cannot delete"):
        customer.moderate(
            event, Action(type="delete", rule="insults"), reason="insults", idempotency_key="e1:del"
        )


def test_events_from_elsewhere_are_refused(customer: SlackCustomerChannel) -> None:
    event = Event(source="google-reviews", kind="review", external_id="r1", text="x", author=Author(id="u"))
    with pytest.raises(PermanentFailure):
        customer.deliver_reply(event, "merci", idempotency_key="k")
