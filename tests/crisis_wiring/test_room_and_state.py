"""The crisis room (events mirrored in the card's thread, a digest when busy), the escalation file's
`room:` key, the applier's `signal` hook, and the Redis state under concurrent workers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import redis

from bot.crisis.policy import PolicyError
from bot.crisis_service import DIGEST_TASK, handle_crisis_timer, load_wiring, process_signals
from bot.ingest import Ingestor
from bot.pipeline import process_event
from bot.platforms.console.chat import read_channel
from bot.runtime import Runtime
from bot.store.crisis_state import CrisisStateStore
from bot.store.incidents import IncidentRepo
from tests.crisis_wiring.support import facts_of, incidents, make_event, open_incident

ROOM_POLICIES = """
version: 1
policies:
  - id: loud
    match: {scopes: ["brand:loud*"]}
    room: {per_minute: 3}
    steps:
      - notify: {channels: [crisis]}
  - id: default
    steps:
      - notify: {channels: [crisis]}
"""


def test_room_mirrors_events_in_the_card_thread_then_digests_a_busy_minute(
    make_runtime: Callable[..., Runtime],
) -> None:
    rt = make_runtime(ROOM_POLICIES)
    inc = open_incident(rt, "loud", 1)
    for n in range(2, 12):  # ten related events within a few milliseconds
        event = make_event(n, f"still broken #{n}", brand="loud")
        process_signals(rt, event, facts_of(event), [])
    messages = read_channel(rt.store, "crisis")
    root = next(mid for mid, thread, card in messages if card.footer == inc and thread is None)
    in_thread = [card for _mid, thread, card in messages if thread == str(root)]
    # The opening event is the card itself; two more fill the minute's allowance of three.
    assert [card.text for card in in_thread] == ["still broken #2", "still broken #3"]

    minute = next(iter(_pending_minutes(rt)))
    assert handle_crisis_timer(rt, DIGEST_TASK, {"incident_id": inc, "minute": minute})
    assert not handle_crisis_timer(rt, DIGEST_TASK, {"incident_id": inc, "minute": minute}), "once"
    in_thread = [card for _mid, thread, card in read_channel(rt.store, "crisis") if thread == str(root)]
    assert len(in_thread) == 3 and in_thread[-1].title == "8 more event(s) in the last minute"
    assert "8 negative" in in_thread[-1].text and "instagram (8)" in in_thread[-1].text
    top_level = [card for _mid, thread, card in read_channel(rt.store, "crisis") if thread is None]
    assert len(top_level) == 1, "the room lives in the card's thread, the channel keeps one message"


def _pending_minutes(rt: Runtime) -> set[int]:
    ids = rt.queue.timers.scheduled_job_registry.get_job_ids()
    return {int(job_id.rsplit("_", 1)[1]) for job_id in ids if "crisis-digest" in job_id}


def test_room_key_is_read_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = tmp_path / "escalation.yaml"
    path.write_text(ROOM_POLICIES, encoding="utf-8")
    wiring = load_wiring(path)
    assert wiring.rooms["loud"].per_minute == 3 and "default" not in wiring.rooms

    path.write_text(ROOM_POLICIES.replace("per_minute: 3", "per_minute: 0"), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"escalation.yaml:6: room.per_minute"):
        load_wiring(path)
    path.write_text(
        ROOM_POLICIES.replace(
            "- notify: {channels: [crisis]}\n  - id: default", "- nudge: 1\n  - id: default"
        )
    )
    with pytest.raises(PolicyError, match=r"escalation.yaml:8: "):
        load_wiring(path)


def test_a_crisis_rule_opens_an_incident_through_the_applier_hook(
    make_runtime: Callable[..., Runtime],
) -> None:
    """Only `process_event`: the `signal` effect reaches the incident even before the pipeline's
    own call to observe_event is wired."""
    rt = make_runtime()
    event = make_event(1, "I got food poisoning from your sandwich, my whole family was sick after")
    Ingestor(rt.store, rt.queue).ingest_many([event])
    process_event(rt, event.id, "test-worker")
    opened = incidents(rt)
    assert len(opened) == 1 and opened[0].data["rules"] == ["poisoning"]
    with rt.store.unit() as unit:
        assert IncidentRepo(unit).has_event(opened[0].id, event.id)
    process_event(rt, event.id, "test-worker")  # a re-run of the job
    assert len(incidents(rt)) == 1 and incidents(rt)[0].data["events"] == 1


def test_concurrent_workers_lose_no_update(redis_client: redis.Redis) -> None:
    store = CrisisStateStore(redis_client)

    def count(current: Mapping[str, str | None]) -> tuple[dict[str, str], str]:
        return {scope: str(int(value or 0) + 1) for scope, value in current.items()}, "[]"

    def worker(prefix: str) -> None:
        for n in range(40):
            store.observe_once(f"{prefix}-{n}", ["brand:x", f"source:{prefix}"], count)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.load(["brand:x", "source:w0"]) == {"brand:x": "160", "source:w0": "40"}
    assert store.observe_once("w0-1", ["brand:x"], count) == ("[]", False)
    assert store.load(["brand:x"]) == {"brand:x": "160"}, "an event seen before is not counted again"
