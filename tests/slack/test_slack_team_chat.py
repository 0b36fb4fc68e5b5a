"""Posting to team channels: pacing shared in Redis, 429 and 5xx handling, flood digests."""

from __future__ import annotations

import heapq
import itertools
import re
import time

import pytest
import redis
from pydantic import SecretStr

from bot.platforms.slack import SlackTeamChat, build_web_client
from bot.ports import Card, MessageRef, PermanentFailure, RetryLater
from tests.fakes.slack_api import FakeSlack
from tests.slack.slack_doubles import TEAM_CHANNEL, FakeClock


def card(number: int) -> Card:
    return Card(
        title=f"evt-{number:04d} · Twitter mention",
        text=f"Votre service est nul ({number})",
        labels=("complaint",),
        url=f"https://x.example/status/{number}",
    )


def test_named_channels_map_to_slack_ids_and_unknown_names_fail_clearly(
    team_chat: SlackTeamChat, fake_slack: FakeSlack
) -> None:
    ref = team_chat.post("inbox", card(1))
    assert (ref.platform, ref.channel, ref.thread_id) == ("slack", TEAM_CHANNEL, None)
    with pytest.raises(PermanentFailure, match=r"channels\.crisis\.slack"):
        team_chat.post("crisis", card(2))


def test_pacing_is_one_post_per_second_per_channel_across_workers(
    team_chat: SlackTeamChat, fake_slack: FakeSlack, redis_client: redis.Redis, clock: FakeClock
) -> None:
    other_worker = SlackTeamChat(
        build_web_client(SecretStr("xoxb-test"), base_url=fake_slack.url, backoff=0.01),
        redis_client,
        channels={"inbox": TEAM_CHANNEL},
        clock=clock,
    )
    team_chat.post("inbox", card(1))
    with pytest.raises(RetryLater) as later:
        other_worker.post("inbox", card(2))
    assert 0 < later.value.seconds <= 1.0
    other_worker.post("CAFTERSALE1", card(3))  # another channel has its own budget
    clock.advance(1.0)
    other_worker.post("inbox", card(2))
    assert len(fake_slack.posts(TEAM_CHANNEL)) == 2


def test_a_429_becomes_retry_later_without_sleeping_and_holds_the_channel(
    team_chat: SlackTeamChat, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    started = time.monotonic()
    with pytest.raises(RetryLater) as later:
        team_chat.post("inbox", card(1))
    assert later.value.seconds == 7 and time.monotonic() - started < 1  # the worker was not blocked
    clock.advance(2)
    with pytest.raises(RetryLater) as held:
        team_chat.post("inbox", card(1))  # every worker backs off until Retry-After has passed
    assert held.value.seconds == pytest.approx(5)
    clock.advance(5)
    team_chat.post("inbox", card(1))  # the applier's retry goes through
    assert len(fake_slack.posts(TEAM_CHANNEL)) == 2  # the 429'd attempt and the retry; one card in Slack


def test_server_errors_are_retried_in_place_then_deferred(
    team_chat: SlackTeamChat, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500, count=1)
    team_chat.post("inbox", card(1))
    assert len(fake_slack.posts(TEAM_CHANNEL)) == 2
    fake_slack.fail_next("chat.postMessage", status=503, count=10)
    clock.advance(1)
    with pytest.raises(RetryLater):
        team_chat.post("inbox", card(2))


def test_update_failures_translate_too(team_chat: SlackTeamChat, fake_slack: FakeSlack) -> None:
    ref = MessageRef(platform="slack", channel=TEAM_CHANNEL, message_id="1700000000.000001")
    fake_slack.fail_next("chat.update", status=429, retry_after=3)
    with pytest.raises(RetryLater):
        team_chat.update(ref, card(1))
    team_chat.update(ref, card(1))
    assert fake_slack.of("chat.update")[-1].params["ts"] == "1700000000.000001"


def test_a_flood_is_coalesced_into_paced_digests_and_no_event_is_lost(
    team_chat: SlackTeamChat, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    """1,000 events in 60 s to one channel, driven by the injected clock (no real minute passes).
    Effects that get RetryLater come back when the applier would reschedule them."""
    fake_slack.clock = clock
    start = clock.now
    due: list[tuple[float, int]] = [(start + i * 0.06, i) for i in range(1000)]
    heapq.heapify(due)
    refs: dict[int, MessageRef] = {}
    next_flush = start + 5
    while due or team_chat.digests.pending(TEAM_CHANNEL):
        at = min(due[0][0] if due else float("inf"), next_flush)
        clock.now = at
        if due and due[0][0] == at:
            _, number = heapq.heappop(due)
            try:
                refs[number] = team_chat.post("inbox", card(number))
            except RetryLater as later:
                heapq.heappush(due, (at + later.seconds, number))
        else:
            team_chat.flush_digests()
            next_flush += 5
        assert clock.now - start < 300, "the flood should drain within a few minutes"

    posts = fake_slack.posts(TEAM_CHANNEL)
    first_minute = [p for p in posts if p.at < start + 60]
    assert len(first_minute) <= 60
    times = [p.at for p in posts]
    assert all(b - a >= 0.999 for a, b in itertools.pairwise(times))  # ~1 post/s, digests included
    seen: list[int] = []
    for post in posts:
        seen += [int(n) for n in re.findall(r"evt-(\d{4})", str(post.params["blocks"]))]
    assert sorted(seen) == list(range(1000))  # every event in exactly one card or digest
    digests = [p for p in posts if p.params.get("thread_ts")]
    assert digests and len({p.params["thread_ts"] for p in digests}) == 1  # all in one thread
    assert sum(1 for ref in refs.values() if ref.message_id.startswith("digest:")) > 900


def test_digest_entries_can_be_updated_until_sent_and_later_events_follow_their_thread(
    team_chat: SlackTeamChat, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    slack_team_chat = SlackTeamChat(
        team_chat.client,
        team_chat.pacer.redis,
        channels={"inbox": TEAM_CHANNEL},
        clock=clock,
        flood_threshold=0,
    )
    ref = slack_team_chat.post("inbox", card(1))
    assert ref.message_id.startswith("digest:")
    slack_team_chat.update(ref, card(1).model_copy(update={"title": "evt-0001 · assigned to Léa"}))
    slack_team_chat.flush_digests()  # opens the digest thread
    clock.advance(1)
    assert slack_team_chat.flush_digests() == 1
    root, digest = fake_slack.posts(TEAM_CHANNEL)
    assert "thread_ts" not in root.params
    assert digest.params["thread_ts"] == slack_team_chat.digests.root(TEAM_CHANNEL)
    assert "assigned to Léa" in str(digest.params["blocks"])
    slack_team_chat.update(ref, card(1))  # already sent: a no-op, no chat.update on a digest
    assert fake_slack.of("chat.update") == []
    clock.advance(1)
    later = SlackTeamChat(
        team_chat.client, team_chat.pacer.redis, channels={"inbox": TEAM_CHANNEL}, clock=clock
    )
    later.post("inbox", card(2), thread=ref)
    assert fake_slack.posts(TEAM_CHANNEL)[-1].params["thread_ts"] == digest.params["thread_ts"]


def test_a_failed_digest_puts_its_events_back(
    team_chat: SlackTeamChat, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    flooded = SlackTeamChat(
        team_chat.client,
        team_chat.pacer.redis,
        channels={"inbox": TEAM_CHANNEL},
        clock=clock,
        flood_threshold=0,
    )
    for number in range(5):
        flooded.post("inbox", card(number))
    flooded.flush_digests()
    clock.advance(1)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=2)
    assert flooded.flush_digests() == 0
    assert flooded.digests.pending(TEAM_CHANNEL) == 5
    clock.advance(3)
    assert flooded.flush_digests() == 5
    assert flooded.digests.pending(TEAM_CHANNEL) == 0
