"""Effect claims: an effect is claimed (a row keyed by `Effect.key`) before it runs and marked applied
after, so a job that runs twice never applies it twice. A claim held by a worker that died is taken
over once its lease has passed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.events import Effect, utcnow
from bot.store.models import EffectRow, PostedMessage

ClaimOutcome = Literal["run", "done", "busy", "failed"]

# A claim older than this is considered abandoned (the job timeout is 120 s).
CLAIM_LEASE = timedelta(seconds=150)
# A claim whose worker has no liveness key any more is taken over after this grace period
# (the key expires 8 s after a worker dies; the grace covers processes that apply effects
# without being RQ workers, such as the HTTP server answering a staff command).
DEAD_CLAIMER_GRACE = timedelta(seconds=10)


class EffectRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, effects: Sequence[Effect]) -> None:
        """Write effects as pending before they are handed to a job, so none is lost if the job is."""
        rows = [
            {
                "key": e.key,
                "kind": e.kind,
                "subject": e.subject,
                "params": e.params,
                "status": "pending",
                "attempts": 0,
            }
            for e in effects
        ]
        if rows:
            self._insert_ignore(rows)

    def claim(
        self,
        effects: Sequence[Effect],
        worker: str,
        now: datetime | None = None,
        alive: Callable[[str], bool] | None = None,
    ) -> dict[str, ClaimOutcome]:
        now = now or utcnow()
        self.record(effects)
        keys = [e.key for e in effects]
        query = select(EffectRow).where(EffectRow.key.in_(keys))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        outcomes: dict[str, ClaimOutcome] = {}
        for row in self.session.scalars(query):
            if row.status == "applied":
                outcomes[row.key] = "done"
            elif row.status == "failed":
                outcomes[row.key] = "failed"
            elif (
                row.status == "claimed"
                and row.claimed_by != worker
                and row.claimed_at is not None
                and row.claimed_at > now - CLAIM_LEASE
                and not (
                    alive is not None
                    and row.claimed_at < now - DEAD_CLAIMER_GRACE
                    and not alive(row.claimed_by or "")
                )
            ):
                outcomes[row.key] = "busy"
            else:
                row.status = "claimed"
                row.claimed_by = worker
                row.claimed_at = now
                row.attempts += 1
                outcomes[row.key] = "run"
        return outcomes

    def applied(self, key: str, result: dict[str, Any], now: datetime | None = None) -> None:
        self.session.execute(
            update(EffectRow)
            .where(EffectRow.key == key)
            .values(status="applied", applied_at=now or utcnow(), result=result, error=None)
        )

    def applied_many(
        self, results: Sequence[tuple[str, dict[str, Any]]], now: datetime | None = None
    ) -> None:
        """Several effects applied, in one executemany."""
        if not results:
            return
        at = now or utcnow()
        statement = (
            update(EffectRow)
            .where(EffectRow.key == bindparam("done_key"))
            .values(status="applied", applied_at=at, result=bindparam("done_result"), error=None)
        )
        connection = self.session.connection()
        connection.execute(statement, [{"done_key": key, "done_result": result} for key, result in results])

    def release(self, key: str, error: str, *, final: bool = False) -> None:
        self.session.execute(
            update(EffectRow)
            .where(EffectRow.key == key)
            .values(status="failed" if final else "retrying", claimed_by=None, error=error[:2000])
        )

    def get(self, key: str) -> EffectRow | None:
        return self.session.get(EffectRow, key)

    def for_subject(self, subject: str) -> list[EffectRow]:
        return list(self.session.scalars(select(EffectRow).where(EffectRow.subject == subject)))

    def effect(self, key: str) -> Effect | None:
        row = self.get(key)
        return None if row is None else _effect_of(row)

    def unfinished(self, subject: str) -> list[Effect]:
        """A subject's effects not applied (nor failed for good) yet: what a re-run must finish."""
        query = select(EffectRow).where(
            EffectRow.subject == subject, EffectRow.status.not_in(("applied", "failed"))
        )
        return [_effect_of(row) for row in self.session.scalars(query)]

    def remember_posts(self, rows: Sequence[Mapping[str, Any]], now: datetime | None = None) -> None:
        """Posted messages (platform, channel, message_id, thread_id, subject, role, case_id), in one
        statement; a message remembered before is kept as it was."""
        if not rows:
            return
        at = now or utcnow()
        self._insert_ignore(
            [{**row, "posted_at": row.get("posted_at", at)} for row in rows],
            table=PostedMessage,
            conflict=["platform", "channel", "message_id"],
        )

    def case_root(self, case_id: int, platform: str, channel: str) -> PostedMessage | None:
        """The first card posted for a case in a channel: later events go to its thread."""
        query = (
            select(PostedMessage)
            .where(
                PostedMessage.case_id == case_id,
                PostedMessage.platform == platform,
                PostedMessage.channel == channel,
                PostedMessage.role == "card",
                PostedMessage.thread_id.is_(None),
            )
            .order_by(PostedMessage.id)
            .limit(1)
        )
        return self.session.scalars(query).first()

    def case_cards(self, case_id: int) -> list[PostedMessage]:
        query = select(PostedMessage).where(
            PostedMessage.case_id == case_id, PostedMessage.role == "card", PostedMessage.thread_id.is_(None)
        )
        return list(self.session.scalars(query))

    def _insert_ignore(
        self, rows: list[dict[str, Any]], table: type[Any] = EffectRow, conflict: list[str] | None = None
    ) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # Rows as parameters, not `.values(rows)`: the statement is then the same every time and
        # SQLAlchemy compiles it once, instead of once per call (twice per event before).
        statement = insert(table).on_conflict_do_nothing(index_elements=conflict or ["key"])
        self.session.execute(statement, rows)


def _effect_of(row: EffectRow) -> Effect:
    name = row.key.removeprefix(f"{row.subject}:{row.kind}").removeprefix(":")
    return Effect.model_validate(
        {"kind": row.kind, "subject": row.subject, "name": name, "params": row.params}
    )
