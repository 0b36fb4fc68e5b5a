"""Numbering, idempotence per effect key, and points over time, against a real database."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from bot.moderation.casebook import active_points, expire_points
from bot.moderation.config import ModerationConfig
from bot.moderation.ledger import NewCase, open_case
from bot.store.modcases import ModCaseRepo
from bot.store.unit import Store
from tests.moderation.conftest import MEMBER, NOW, SCOPE


def _warn(
    store: Store, *, scope: str = SCOPE, key: str | None = None, points: int = 1, at: datetime = NOW
) -> tuple[int, bool]:
    with store.unit() as unit:
        row, created = open_case(
            unit,
            NewCase(
                scope=scope,
                source="discord",
                action="warn",
                member_id=MEMBER,
                moderator="lea",
                reason="r",
                points=points,
                effect_key=key,
            ),
            at,
            ModerationConfig(),
        )
        return row.number, created


def test_numbers_run_per_scope(store: Store) -> None:
    assert [_warn(store)[0] for _ in range(3)] == [1, 2, 3]
    assert _warn(store, scope="discord:222")[0] == 1
    assert _warn(store)[0] == 4


def test_one_case_per_effect_key(store: Store) -> None:
    first = _warn(store, key="ev-1:moderate:warn")
    again = _warn(store, key="ev-1:moderate:warn")
    assert first == (1, True)
    assert again == (1, False)
    assert _warn(store)[0] == 2  # the refused duplicate used no number


def test_concurrent_openings_get_distinct_consecutive_numbers(store: Store) -> None:
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        try:
            number, _ = _warn(store, key=f"k{index}")
            with lock:
                numbers.append(number)
        except BaseException as error:  # surfaced below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, 9))


def test_concurrent_openings_of_one_key_make_one_case(store: Store) -> None:
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(_warn(store, key="same"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {number for number, _ in results} == {1}
    assert sum(created for _, created in results) == 1


def test_points_expire_and_totals_are_kept(store: Store) -> None:
    _warn(store, at=NOW - timedelta(days=31))  # expired by NOW
    _warn(store, at=NOW - timedelta(days=10), points=2)
    _warn(store, at=NOW)
    with store.unit() as unit:
        assert active_points(unit, SCOPE, MEMBER, NOW) == 3
        assert active_points(unit, SCOPE, MEMBER, NOW + timedelta(days=21)) == 1
        assert active_points(unit, "discord:999", MEMBER, NOW) == 0
        rows = ModCaseRepo(unit).history(SCOPE, MEMBER)
        # Case 2 counted case 1, still active ten days before NOW.
        assert [(r.number, r.total_points) for r in rows] == [(3, 3), (2, 3), (1, 1)]


def test_revoked_and_overturned_warnings_stop_counting(store: Store) -> None:
    _warn(store)
    _warn(store)
    _warn(store)
    with store.unit() as unit:
        repo = ModCaseRepo(unit)
        first, second, third = (repo.get(SCOPE, n) for n in (1, 2, 3))
        assert first and second and third
        first.status = "revoked"
        second.status = "overturned"
        third.status = "appealed"  # an appeal pending leaves the sanction standing
    with store.unit() as unit:
        assert active_points(unit, SCOPE, MEMBER, NOW) == 1


def test_expiry_sweep_marks_rows(store: Store) -> None:
    _warn(store, at=NOW - timedelta(days=40))
    _warn(store, at=NOW)
    with store.unit() as unit:
        assert expire_points(unit, NOW) == 1
    with store.unit() as unit:
        repo = ModCaseRepo(unit)
        assert [r.status for r in repo.history(SCOPE, MEMBER)] == ["active", "expired"]
        assert expire_points(unit, NOW) == 0
