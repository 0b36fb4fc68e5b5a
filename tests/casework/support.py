"""Casework test support: a 24/7 after-sales workspace, event helpers, a fake clock, a recording
scheduler, an ethics check driven by the test, a harness around the desk, and a local HTTP endpoint."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from bot.casework.desk import CaseDesk
from bot.events import Action, Author, Effect, Event, Route, Verdict
from bot.ports import CommandResult, StaffCommand
from bot.store.models import EventRow, PostedMessage
from bot.store.unit import Store
from bot.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # a Wednesday

WORKSPACE_YAML = """
language: en
channels:
  after-sales: {console: after-sales, slack: C0AFTER}
  inbox: {console: inbox}
teams:
  after-sales:
    channel: after-sales
    lead: camille
    timezone: Europe/Paris
    working_hours: {mon: "00:00-00:00", tue: "00:00-00:00", wed: "00:00-00:00", thu: "00:00-00:00",
                    fri: "00:00-00:00", sat: "00:00-00:00", sun: "00:00-00:00"}
    max_open_per_agent: 2
    sla:
      normal: {first_response: 1h, next_response: 2h, resolution: 1d, warn_before: 10m, business_hours: false}
      high:   {first_response: 30m, resolution: 8h, warn_before: 5m, business_hours: false}
  community:
    channel: inbox
staff:
  camille: {name: Camille, roles: [lead, approver, admin], teams: [after-sales], slack: U0CAMILLE}
  samir:   {name: Samir, roles: [agent], teams: [after-sales], slack: U0SAMIR, discord: "111"}
  tom:     {name: Tom, roles: [agent, approver], teams: [after-sales], slack: U0TOM}
  zoe:     {name: Zoé, roles: [agent], teams: [after-sales], on_duty: false}
  mo:      {name: Mo, roles: [moderator]}
  ana:     {name: Ana, roles: [agent], teams: [community]}
approval:
  roles: [approver, lead]
  expire_after: 2h
"""


def make_workspace(text: str = WORKSPACE_YAML, **changes: Any) -> Workspace:
    data = yaml.safe_load(text)
    data.update(changes)
    return Workspace.model_validate(data)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@dataclass
class FakeScheduler:
    timers: dict[str, tuple[datetime, str, dict[str, Any]]] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)

    def schedule(self, key: str, at: datetime, task: str, args: dict[str, Any]) -> None:
        assert all(c.isalnum() or c in "_-" for c in key), key
        self.timers[key] = (at, task, dict(args))

    def cancel(self, key: str) -> None:
        self.cancelled.append(key)
        self.timers.pop(key, None)

    def due(self, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
        ready = sorted((at, key) for key, (at, _t, _a) in self.timers.items() if at <= now)
        out = []
        for _at, key in ready:
            _at2, task, args = self.timers.pop(key)
            out.append((key, task, args))
        return out

    def tasks(self) -> list[str]:
        return sorted(task for _at, task, _args in self.timers.values())


@dataclass
class Ethics:
    """Verdicts the test decides: words that block, words that need a lead's approval."""

    block: dict[str, str] = field(default_factory=dict)
    need_lead: set[str] = field(default_factory=set)
    seen: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def __call__(self, text: str, event: Event | None, lang: str | None) -> Verdict:
        self.seen.append((text, event.id if event else None, lang))
        actions = []
        for word, reason in self.block.items():
            if word in text.lower():
                actions.append(Action(type="block", rule=f"no-{word}", params={"reason": reason}))
        for word in self.need_lead:
            if word in text.lower():
                actions.append(Action(type="require_approval", rule=f"lead-{word}", params={"role": "lead"}))
        return Verdict(event_id="reply", actions=tuple(actions), labels=(), hits=())


@dataclass
class Harness:
    store: Store
    workspace: Workspace
    clock: Clock
    scheduler: FakeScheduler
    ethics: Ethics
    emitted: list[Effect]
    desk: CaseDesk

    def run(self, actor: str, verb: str, door: str = "cli", **args: Any) -> CommandResult:
        return self.desk.dispatch(StaffCommand(door=door, actor=actor, verb=verb, args=args))

    def kinds(self, kind: str) -> list[Effect]:
        return [e for e in self.emitted if e.kind == kind]

    def store_event(self, event: Event) -> Event:
        with self.store.unit() as unit:
            if unit.session.get(EventRow, event.id) is None:
                unit.session.add(
                    EventRow(
                        id=event.id,
                        source=event.source,
                        external_id=event.external_id,
                        kind=event.kind,
                        author_id=event.author.id,
                        conversation_key=event.conversation_key,
                        payload=event.model_dump(mode="json"),
                        created_at=event.created_at,
                        received_at=self.clock.now,
                        status="processed",
                    )
                )
        return event

    def route(self, event: Event, verdict: Verdict | None = None) -> tuple[int, bool]:
        self.store_event(event)
        verdict = verdict or routed(event)
        with self.store.unit() as unit:
            routed_result = self.desk.route(unit, event, verdict, self.clock.now)
            assert routed_result.case is not None
            case_id, created = routed_result.case.id, routed_result.created
        self.emitted += routed_result.effects
        return case_id, created

    def post_card(self, case_id: int, platform: str = "console", channel: str = "after-sales") -> str:
        """What the worker's mirror does: a top-level card for the case, remembered."""
        message_id = f"m-{case_id}-{platform}"
        with self.store.unit() as unit:
            unit.session.add(
                PostedMessage(
                    platform=platform,
                    channel=channel,
                    message_id=message_id,
                    thread_id=None,
                    subject=f"case:{case_id}",
                    role="card",
                    case_id=case_id,
                    posted_at=self.clock.now,
                )
            )
        return message_id

    def post_draft_cards(self) -> None:
        """What the applier does after the draft card posts: remember them."""
        with self.store.unit() as unit:
            for effect in self.kinds("post_note"):
                params = effect.params
                exists = unit.session.query(PostedMessage).filter_by(message_id=f"d-{effect.key}").first()
                if exists is None:
                    unit.session.add(
                        PostedMessage(
                            platform=str(params["platform"]),
                            channel=str(params["channel"]),
                            message_id=f"d-{effect.key}",
                            thread_id=None,
                            subject=effect.subject,
                            role="draft",
                            case_id=int(str(params["case_id"])),
                            posted_at=self.clock.now,
                        )
                    )

    def fire(self, now: datetime | None = None) -> list[tuple[str, bool]]:
        """Run every timer due by `now` (default: the clock), like RQ's scheduler would."""
        when = now or self.clock.now
        ran = []
        for _key, task, args in self.scheduler.due(when):
            ran.append((task, self.desk.handle_timer(task, args, when)))
        return ran


_counter = iter(range(1, 1_000_000))


def complaint(
    text: str = "Colis arrivé cassé, personne ne répond.",
    *,
    author: str = "u-19",
    source: str = "google-reviews",
    thread: str | None = None,
    at: datetime = T0,
    lang: str | None = "fr",
    **extra: Any,
) -> Event:
    return Event(
        source=source,
        kind="review",
        external_id=f"r-{next(_counter)}",
        text=text,
        author=Author(id=author, name="M. L."),
        created_at=at,
        thread_id=thread,
        lang=lang,
        **extra,
    )


def routed(
    event: Event, priority: str = "normal", labels: tuple[str, ...] = ("after-sales", "broken")
) -> Verdict:
    return Verdict(event_id=event.id, labels=labels, route=Route(team="after-sales", priority=priority))  # type: ignore[arg-type]


class Endpoint:
    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.delay = 0.0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append(({k: v for k, v in self.headers.items()}, body))
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                status, headers, payload = (
                    endpoint.script.pop(0) if endpoint.script else (200, {}, b'{"id":"r-1"}')
                )
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replies"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
