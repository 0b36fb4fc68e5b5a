"""The worker-side ports (sync, on their own HTTP thread) against the fake Discord REST API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from bot.events import Action, Author, Event
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.customer import DiscordCustomerChannel, chunks
from bot.platforms.discord.rest import DiscordRest, RedisRateLimiter
from bot.platforms.discord.team_chat import DiscordTeamChat
from bot.ports import Button, Card, MessageRef, PermanentFailure, RetryLater
from tests.discord.conftest import GENERAL, GUILD, MEMBER, MOD_LOG, STAFF_CHANNEL, make_config
from tests.fakes.discord_api import FakeDiscord

DM_CHANNEL = "290926798999357299"


def community_event(message_id: int = 4242, roles: tuple[str, ...] = ()) -> Event:
    return Event(
        source="discord",
        kind="message",
        external_id=str(message_id),
        text="you are an id10t",
        author=Author(id=str(MEMBER), name="Mason", roles=roles),
        channel=str(GENERAL),
        metadata={
            "guild_id": str(GUILD),
            "message_id": str(message_id),
            "guild_name": "Docs Guild",
            "conversation": "community",
        },
    )


def dm_event() -> Event:
    return Event(
        source="discord",
        kind="dm",
        external_id="334385199974967043",
        text="hello",
        author=Author(id=str(MEMBER)),
        channel=DM_CHANNEL,
        thread_id=f"dm:{MEMBER}",
        metadata={"message_id": "334385199974967043", "conversation": "dm"},
    )


@pytest.fixture
def rest(config: DiscordConfig, redis_client: redis.Redis) -> Iterator[DiscordRest]:
    client = DiscordRest(config, redis_client=redis_client)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def customer(config: DiscordConfig, rest: DiscordRest) -> DiscordCustomerChannel:
    return DiscordCustomerChannel(config, rest=rest)


@pytest.fixture
def team(config: DiscordConfig, rest: DiscordRest) -> DiscordTeamChat:
    return DiscordTeamChat(config, rest=rest)


def test_delete_with_audit_reason_and_mod_log(
    fake_discord: FakeDiscord, customer: DiscordCustomerChannel
) -> None:
    customer.moderate(
        community_event(),
        Action(type="delete", rule="insults", params={"case": 12}),
        reason="insults: aimed at a person",
        idempotency_key="ev:delete",
    )
    [delete] = fake_discord.find("DELETE", rf"^/channels/{GENERAL}/messages/4242$", status=204)
    assert delete.reason == "insults: aimed at a person"
    assert delete.headers["Authorization"] == "Bot fake-bot-token"
    [entry] = fake_discord.find("POST", rf"^/channels/{MOD_LOG}/messages$")
    assert entry.json["embeds"][0]["title"] == "Case #12 · message deleted"
    # A retry of the same effect: the message is already gone (404) and the mod-log nonce dedupes.
    customer.moderate(
        community_event(),
        Action(type="delete", rule="insults", params={"case": 12}),
        reason="insults: aimed at a person",
        idempotency_key="ev:delete",
    )
    assert len(fake_discord.find("DELETE", r"/messages/4242$", status=404)) == 1
    assert len(fake_discord.messages) == 1


def test_mod_log_in_french(fake_discord: FakeDiscord, customer: DiscordCustomerChannel) -> None:
    customer.moderate(
        community_event(),
        Action(type="hide", rule="insults", params={"case": 3, "lang": "fr"}),
        reason="insultes",
        idempotency_key="ev:hide",
    )
    [entry] = fake_discord.find("POST", rf"^/channels/{MOD_LOG}/messages$")
    assert entry.json["embeds"][0]["title"] == "Dossier #3 · message masqué"
    assert "Message masqué (copie)" in entry.json["embeds"][0]["description"]


def test_warn_falls_back_to_the_channel_when_dms_are_closed(
    fake_discord: FakeDiscord, customer: DiscordCustomerChannel
) -> None:
    fake_discord.fail_next(403, code=50007, match=f"/channels/{DM_CHANNEL}/messages")
    customer.moderate(
        community_event(),
        Action(type="warn", rule="insults", params={"message": "Be nice."}),
        reason="insults",
        idempotency_key="ev:warn",
    )
    [warning] = fake_discord.find("POST", rf"^/channels/{GENERAL}/messages$")
    assert warning.json["content"] == f"<@{MEMBER}>, warning: Be nice."
    assert warning.json["allowed_mentions"] == {"parse": [], "users": [str(MEMBER)]}


def test_timeout_kick_and_ban_rules(
    fake_discord: FakeDiscord, customer: DiscordCustomerChannel, config: DiscordConfig, rest: DiscordRest
) -> None:
    customer.moderate(
        community_event(),
        Action(type="timeout", rule="flood", params={"duration": "1h"}),
        reason="flood",
        idempotency_key="ev:timeout",
    )
    [patch] = fake_discord.find("PATCH", rf"^/guilds/{GUILD}/members/{MEMBER}$")
    assert patch.json["communication_disabled_until"] and patch.reason == "flood"
    with pytest.raises(PermanentFailure, match="allowed_actions"):
        customer.moderate(
            community_event(), Action(type="ban", rule="raid"), reason="raid", idempotency_key="k1"
        )
    allowing = DiscordCustomerChannel(
        config.model_copy(update={"allowed_actions": ("kick", "ban")}), rest=rest
    )
    allowing.moderate(
        community_event(), Action(type="kick", rule="raid"), reason="raid", idempotency_key="k2"
    )
    allowing.moderate(
        community_event(),
        Action(type="ban", rule="raid", params={"delete_message_seconds": 3600}),
        reason="raid",
        idempotency_key="k3",
    )
    assert fake_discord.find("DELETE", rf"^/guilds/{GUILD}/members/{MEMBER}$", status=204)[0].reason == "raid"
    [ban] = fake_discord.find("PUT", rf"^/guilds/{GUILD}/bans/{MEMBER}$", status=204)
    assert ban.query == {"delete_message_seconds": "3600"}
    with pytest.raises(PermanentFailure, match="exempt"):
        allowing.moderate(
            community_event(roles=("moderator",)),
            Action(type="ban", rule="raid"),
            reason="raid",
            idempotency_key="k4",
        )


def test_deliver_reply_in_channel_and_dm(fake_discord: FakeDiscord, customer: DiscordCustomerChannel) -> None:
    support = community_event().model_copy(
        update={"metadata": {"guild_id": str(GUILD), "message_id": "4242", "conversation": "support"}}
    )
    first = customer.deliver_reply(support, "Thanks, we are on it.", idempotency_key="reply:1")
    [sent] = fake_discord.find("POST", rf"^/channels/{GENERAL}/messages$")
    assert sent.json["message_reference"] == {"message_id": "4242", "fail_if_not_exists": False}
    # The same approval applied twice (a retried job) gives the same message.
    assert customer.deliver_reply(support, "Thanks, we are on it.", idempotency_key="reply:1") == first
    assert len(fake_discord.messages) == 1
    long = ("word " * 900).strip()
    customer.deliver_reply(dm_event(), long, idempotency_key="reply:2")
    parts = fake_discord.find("POST", rf"^/channels/{DM_CHANNEL}/messages$")
    assert len(parts) == 3 and all(len(p.json["content"]) <= 2000 for p in parts)


def test_card_posts_with_buttons_and_thread_then_updates(
    fake_discord: FakeDiscord, team: DiscordTeamChat
) -> None:
    card = Card(
        title="Review 1★",
        text="Colis cassé",
        fields=(("Source", "google-reviews"),),
        labels=("after-sales",),
        url="https://example.org/r/1",
        severity="danger",
        buttons=(
            Button(action="take", value="c-1", label="Take"),
            Button(action="approve", value="d-1", label="Approve", style="primary"),
        ),
    )
    ref = team.post("inbox", card, idempotency_key="ev:post_card")
    assert ref == MessageRef(
        platform="discord", channel=str(STAFF_CHANNEL), message_id=ref.message_id, thread_id=ref.message_id
    )
    [post] = fake_discord.find("POST", rf"^/channels/{STAFF_CHANNEL}/messages$")
    embed = post.json["embeds"][0]
    assert embed["color"] == 0xED4245 and embed["url"] == "https://example.org/r/1"
    assert {"name": "Labels", "value": "`after-sales`", "inline": True} in embed["fields"]
    assert [b["custom_id"] for b in post.json["components"][0]["components"]] == [
        "vigie:take:c-1",
        "vigie:approve:d-1",
    ]
    # A retried post returns the first message and its existing thread.
    assert team.post("inbox", card, idempotency_key="ev:post_card") == ref
    note = team.post("inbox", Card(title="note"), thread=ref)
    assert note.thread_id == ref.thread_id
    assert fake_discord.find("POST", rf"^/channels/{ref.thread_id}/messages$")
    team.update(ref, card.model_copy(update={"severity": "good", "buttons": ()}))
    [patch] = fake_discord.find("PATCH", rf"^/channels/{STAFF_CHANNEL}/messages/{ref.message_id}$")
    assert patch.json["embeds"][0]["color"] == 0x57F287 and patch.json["components"] == []
    with pytest.raises(PermanentFailure, match="unknown Discord team channel"):
        team.post("nowhere", card)


def test_rate_limits(
    fake_discord: FakeDiscord,
    team: DiscordTeamChat,
    customer: DiscordCustomerChannel,
    redis_client: redis.Redis,
) -> None:
    # A short 429 from Discord's edge: discord.py waits and retries by itself.
    fake_discord.rate_limit_next(1, retry_after=0.05, match="/messages")
    team.post(str(STAFF_CHANNEL), Card(title="a"))
    assert [c.status for c in fake_discord.find("POST", r"/messages$", status=None)] == [429, 200]
    # Too long to wait in a worker: the applier reschedules instead.
    fake_discord.rate_limit_next(1, retry_after=60, match="/messages")
    with pytest.raises(RetryLater) as caught:
        team.post(str(STAFF_CHANNEL), Card(title="b"))
    assert caught.value.seconds == 60
    # Every worker now holds that route back for the 60 s Discord asked for.
    route = f"POST /channels/{{channel_id}}/messages:{STAFF_CHANNEL}"
    assert RedisRateLimiter(redis_client).try_acquire(route) > 50
    # A 429 without Via (a Cloudflare ban) is not retried by discord.py: never hammer it.
    fake_discord.rate_limit_next(1, retry_after=1, via=False, match="/messages")
    with pytest.raises(RetryLater):
        team.post(str(MOD_LOG), Card(title="c"))
    # ...and every worker holds back meanwhile.
    assert RedisRateLimiter(redis_client).try_acquire("anything") > 0


def test_errors_map_to_port_exceptions(fake_discord: FakeDiscord, team: DiscordTeamChat) -> None:
    fake_discord.fail_next(403, code=50013, match="/messages")
    with pytest.raises(PermanentFailure, match="403"):
        team.post(str(STAFF_CHANNEL), Card(title="x"))
    fake_discord.fail_next(503, match="/messages")
    with pytest.raises(RetryLater):
        team.post(str(STAFF_CHANNEL), Card(title="y"))


def test_cross_worker_limiter(redis_client: redis.Redis) -> None:
    one = RedisRateLimiter(redis_client, global_rate=10, route_rate=5, route_window=5.0)
    two = RedisRateLimiter(redis_client, global_rate=10, route_rate=5, route_window=5.0)
    # A route's whole window budget may go at once, shared by both workers...
    waits = [limiter.try_acquire("POST /channels/{channel_id}/messages:1") for limiter in (one, two) * 3]
    assert waits[:5] == [0.0] * 5 and waits[5] > 0
    # ...another route still has budget, until the global budget (10/s, a one-second burst) runs out.
    other = [one.try_acquire(f"route-{n}") for n in range(8)]
    assert other.count(0.0) == 5 and all(w > 0 for w in other[5:])
    one.block("route-x", 0.2)
    assert two.try_acquire("route-x") > 0
    time.sleep(1.1)
    assert two.try_acquire("route-y") == 0.0


def test_limiter_wait_too_long_is_retry_later(fake_discord: FakeDiscord, redis_client: redis.Redis) -> None:
    config = make_config(fake_discord, max_local_wait=0.0)
    rest = DiscordRest(config, redis_client=redis_client)
    try:
        assert rest.limiter is not None
        rest.limiter.block(None, 5)
        with pytest.raises(RetryLater, match="rate limit budget"):
            DiscordTeamChat(config, rest=rest).post(str(STAFF_CHANNEL), Card(title="z"))
    finally:
        rest.close()


def test_chunks_split_on_words() -> None:
    assert chunks("short") == ["short"]
    parts = chunks("a" * 1500 + " " + "b" * 1500)
    assert parts == ["a" * 1500, "b" * 1500]
    assert all(len(p) <= 2000 for p in chunks("x" * 4500))
