"""The console platform: team channels and threads kept in the store and shown in the terminal.
It implements the same ports as Slack and Discord, so the whole product runs with neither, and it
is the in-process double the tests read back from."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.events import Action, Event, utcnow
from bot.ports import Card, MessageRef, StoredPost
from bot.store.models import ConsoleMessage
from bot.store.unit import Store, Unit

OUTBOX = "outbox"  # what customers received: replies, warnings, moderation notices


class ConsoleTeamChat:
    name = "console"
    deduplicates = True  # by key, in the same transaction as the post

    def __init__(self, store: Store) -> None:
        self.store = store

    def post(
        self,
        channel: str,
        card: Card,
        *,
        thread: MessageRef | None = None,
        idempotency_key: str | None = None,
    ) -> MessageRef:
        with self.store.unit() as unit:
            return self.post_in(unit, channel, card, thread=thread, idempotency_key=idempotency_key)

    def post_in(
        self,
        unit: Unit,
        channel: str,
        card: Card,
        *,
        thread: MessageRef | None = None,
        idempotency_key: str | None = None,
    ) -> MessageRef:
        """`post` inside the caller's store transaction: the console's channels live in the store, so
        the applier can post a wave's cards and record them applied in one transaction."""
        return self.post_many_in(unit, [StoredPost(channel, card, thread, idempotency_key)])[0]

    def post_many_in(self, unit: Unit, posts: Sequence[StoredPost]) -> list[MessageRef]:
        """Several posts in the caller's transaction, in one INSERT: the unique key decides which
        are new (a post without a key is always new); a key posted before gives back that message."""
        if not posts:
            return []
        now = utcnow()
        rows = [
            {
                "channel": post.channel,
                "thread_id": (post.thread.thread_id or post.thread.message_id) if post.thread else None,
                "key": post.key,
                "card": post.card.model_dump(mode="json"),
                "posted_at": now,
            }
            for post in posts
        ]
        insert = pg_insert if unit.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # Rows as parameters (SQLAlchemy sends them as one multi-row INSERT): the statement is the
        # same every time, compiled once, where `.values(rows)` is rebuilt value by value per call.
        statement = (
            insert(ConsoleMessage)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(
                ConsoleMessage.id, ConsoleMessage.key, ConsoleMessage.channel, ConsoleMessage.thread_id
            )
        )
        # Keyed posts are matched back by key; keyless ones (always inserted) by their order among
        # themselves: their ids grow in the order of the VALUES rows.
        found: dict[str, MessageRef] = {}
        keyless: list[MessageRef] = []
        returned = list(unit.session.execute(statement, rows))
        returned.sort(key=lambda item: item[0])
        for message_id, key, channel, thread_id in returned:
            ref = MessageRef(
                platform=self.name, channel=channel, message_id=str(message_id), thread_id=thread_id
            )
            if key is None:
                keyless.append(ref)
            else:
                found[key] = ref
        earlier = [post.key for post in posts if post.key is not None and post.key not in found]
        if earlier:
            query = select(ConsoleMessage).where(ConsoleMessage.key.in_(earlier))
            for row in unit.session.scalars(query):
                found[str(row.key)] = MessageRef(
                    platform=self.name, channel=row.channel, message_id=str(row.id), thread_id=row.thread_id
                )
        fresh = iter(keyless)
        return [found[post.key] if post.key is not None else next(fresh) for post in posts]

    def update(self, ref: MessageRef, card: Card) -> None:
        with self.store.unit() as unit:
            self.update_in(unit, ref, card)

    def update_in(self, unit: Unit, ref: MessageRef, card: Card) -> None:
        """`update` inside the caller's store transaction."""
        row = unit.session.get(ConsoleMessage, int(ref.message_id))
        if row is not None:
            row.card = card.model_dump(mode="json")
            row.updated_at = utcnow()


class ConsoleCustomerChannel:
    """Sends to customers of sources that have no way back configured: the message is kept in the
    console `outbox` channel, so nothing is lost and the team sees what would have gone out."""

    name = "console"

    def __init__(self, store: Store) -> None:
        self.chat = ConsoleTeamChat(store)

    def deliver_reply(self, event: Event, text: str, *, idempotency_key: str) -> str:
        card = Card(
            title=f"↩ Reply to {event.author.name or event.author.id} on {event.source}",
            text=text,
            fields=(("in reply to", event.external_id),),
            severity="good",
            footer=idempotency_key,
        )
        return self.chat.post(OUTBOX, card, idempotency_key=idempotency_key).message_id

    def moderate(self, event: Event, action: Action, *, reason: str, idempotency_key: str) -> None:
        with self.chat.store.unit() as unit:
            self.moderate_in(unit, event, action, reason=reason, idempotency_key=idempotency_key)

    def moderate_in(
        self, unit: Unit, event: Event, action: Action, *, reason: str, idempotency_key: str
    ) -> None:
        """`moderate` inside the caller's store transaction (the outbox lives in the store)."""
        detail = ", ".join(f"{k}={v}" for k, v in action.params.items())
        card = Card(
            title=f"⚑ {action.type} on {event.source} ({event.author.name or event.author.id})",
            text=reason + (f" [{detail}]" if detail else ""),
            fields=(("message", event.external_id), ("rule", action.rule)),
            severity="warning",
            footer=idempotency_key,
        )
        self.chat.post_in(unit, OUTBOX, card, idempotency_key=idempotency_key)


def read_channel(store: Store, channel: str) -> list[tuple[int, str | None, Card]]:
    """(id, thread id, card) of every message in a console channel, oldest first."""
    with store.unit() as unit:
        rows = unit.session.scalars(
            select(ConsoleMessage).where(ConsoleMessage.channel == channel).order_by(ConsoleMessage.id)
        )
        return [(row.id, row.thread_id, Card.model_validate(row.card)) for row in rows]


def channel_names(store: Store) -> list[str]:
    with store.unit() as unit:
        return sorted(set(unit.session.scalars(select(ConsoleMessage.channel))))
