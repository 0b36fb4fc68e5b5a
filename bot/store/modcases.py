"""Repository of numbered moderation cases. It takes a `Unit` (one transaction) and returns row
objects; the casebook above never sees SQLAlchemy.

Numbers come from a counter row per scope (`mod_case_counters`) bumped by one upsert, so two
workers opening cases in one server at once get consecutive numbers: PostgreSQL holds the counter
row's lock until the transaction ends, SQLite lets one writer at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from bot.store.models import ModCaseCounterRow, ModCaseRow
from bot.store.unit import Unit

# Warnings in these states still weigh: an appeal pending or rejected leaves the sanction standing.
COUNTING = ("active", "appealed", "upheld")
SANCTIONS = ("delete", "hide", "warn", "timeout", "kick", "ban", "automod")
APPEALABLE = ("active", "expired")


class ModCaseRepo:
    def __init__(self, unit: Unit) -> None:
        self.session = unit.session

    def next_number(self, scope: str) -> int:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(ModCaseCounterRow)
            .values(scope=scope, last=1)
            .on_conflict_do_update(index_elements=["scope"], set_={"last": ModCaseCounterRow.last + 1})
            .returning(ModCaseCounterRow.last)
        )
        return int(self.session.execute(statement).scalar_one())

    def open(self, row: ModCaseRow, *, key_checked: bool = False) -> tuple[ModCaseRow, bool]:
        """Number and insert a case; (row, created). `total_points` is set to the member's active
        points with this case's own. A row with the same `effect_key` wins over the new one, even when
        another transaction inserted it first and committed meanwhile (`key_checked`: the caller
        looked it up in this transaction already)."""
        if row.effect_key is not None and not key_checked:
            existing = self.by_key(row.effect_key)
            if existing is not None:
                return existing, False
        try:
            # A savepoint: losing the race on effect_key undoes the number too, leaving no gap.
            with self.session.begin_nested():
                row.number = self.next_number(row.scope)
                # Counted after taking the scope's number: a concurrent case of this scope has
                # committed by then, so two warnings at once cannot both miss each other's points.
                row.total_points = self.active_points(row.scope, row.member_id, row.created_at) + row.points
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            existing = self.by_key(row.effect_key) if row.effect_key is not None else None
            if existing is None:
                raise
            return existing, False
        return row, True

    def by_key(self, effect_key: str) -> ModCaseRow | None:
        return self.session.scalars(select(ModCaseRow).where(ModCaseRow.effect_key == effect_key)).first()

    def by_id(self, case_id: int) -> ModCaseRow | None:
        return self.session.get(ModCaseRow, case_id)

    def get(self, scope: str, number: int, *, lock: bool = False) -> ModCaseRow | None:
        """`lock` takes a row lock (PostgreSQL) so an appeal and a revocation of one case serialise."""
        query = select(ModCaseRow).where(ModCaseRow.scope == scope, ModCaseRow.number == number)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def caused_by(self, case_id: int) -> list[ModCaseRow]:
        query = select(ModCaseRow).where(ModCaseRow.caused_by == case_id).order_by(ModCaseRow.number)
        return list(self.session.scalars(query))

    def history(self, scope: str, member_id: str, *, limit: int = 25) -> list[ModCaseRow]:
        """A member's cases in a scope, newest first."""
        query = (
            select(ModCaseRow)
            .where(ModCaseRow.scope == scope, ModCaseRow.member_id == member_id)
            .order_by(ModCaseRow.number.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def active_points(self, scope: str, member_id: str, now: datetime) -> int:
        query = select(func.coalesce(func.sum(ModCaseRow.points), 0)).where(
            ModCaseRow.scope == scope,
            ModCaseRow.member_id == member_id,
            ModCaseRow.points > 0,
            ModCaseRow.status.in_(COUNTING),
            (ModCaseRow.expires_at.is_(None)) | (ModCaseRow.expires_at > now),
        )
        return int(self.session.execute(query).scalar_one())

    def latest_appealable(self, scope: str, member_id: str) -> ModCaseRow | None:
        query = (
            select(ModCaseRow)
            .where(
                ModCaseRow.scope == scope,
                ModCaseRow.member_id == member_id,
                ModCaseRow.action.in_(SANCTIONS),
                ModCaseRow.status.in_(APPEALABLE),
            )
            .order_by(ModCaseRow.number.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def appeals_of(self, scope: str, number: int) -> list[ModCaseRow]:
        query = (
            select(ModCaseRow)
            .where(ModCaseRow.scope == scope, ModCaseRow.action == "appeal", ModCaseRow.appeal_of == number)
            .order_by(ModCaseRow.number)
        )
        return list(self.session.scalars(query))

    def expire_due(self, now: datetime, scopes: Sequence[str] = ()) -> int:
        """Mark warnings whose points ran out as expired; points stop counting at `expires_at`
        whether or not this ran, so it only keeps listings honest."""
        statement = update(ModCaseRow).where(
            ModCaseRow.status == "active",
            ModCaseRow.expires_at.is_not(None),
            ModCaseRow.expires_at <= now,
        )
        if scopes:
            statement = statement.where(ModCaseRow.scope.in_(list(scopes)))
        result = self.session.execute(statement.values(status="expired", updated_at=now, updated_by="vigie"))
        return int(getattr(result, "rowcount", 0) or 0)
