"""A stand-in for Vigie's core in the Discord end-to-end tests: a two-rule "rulebook" (an insult
list and a flood window), numbered cases with warning points, mirrored cards for DMs, drafts from
thread replies and approval. It calls the worker-side ports synchronously, as the applier does.
The real core replaces all of this; only what reaches the fake Discord is asserted."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict, deque

from bot.events import Action, Event
from bot.ports import Button, Card, CommandResult, CustomerChannel, MessageRef, StaffCommand, TeamChat

INSULTS = ("idiot", "c0nnard")


class CoreDouble:
    def __init__(self, team_chat: TeamChat, customer: CustomerChannel) -> None:
        self.team_chat = team_chat
        self.customer = customer
        self.lock = threading.Lock()
        self.case_numbers = itertools.count(1)
        self.points: dict[str, int] = defaultdict(int)
        self.recent: dict[str, deque[float]] = defaultdict(deque)
        self.cards: dict[str, MessageRef] = {}
        self.by_thread: dict[str, Event] = {}
        self.drafts: dict[str, tuple[Event, str]] = {}
        self.delivered: list[str] = []
        self.errors: list[BaseException] = []

    def on_event(self, event: Event) -> None:
        try:
            self._on_event(event)
        except BaseException as error:  # surfaced by the tests, never swallowed
            self.errors.append(error)
            raise

    def _on_event(self, event: Event) -> None:
        if event.kind == "dm":
            card = Card(
                title=f"DM from {event.author.name}",
                text=event.text,
                fields=(("Source", "discord"),),
                labels=("after-sales",),
                url=event.url,
                severity="warning",
                buttons=(
                    Button(action="take", value="case-1", label="Take"),
                    Button(action="reply", value="case-1", label="Reply"),
                ),
            )
            ref = self.team_chat.post("inbox", card)
            self.cards[event.id] = ref
            self.by_thread[str(ref.thread_id)] = event
            return
        lowered = event.text.lower()
        if any(word in lowered for word in INSULTS):
            case = next(self.case_numbers)
            with self.lock:
                self.points[event.author.id] += 1
                total = self.points[event.author.id]
            self.customer.moderate(
                event,
                Action(type="hide", rule="insults", params={"case": case}),
                reason="insults: insult aimed at a person",
                idempotency_key=f"{event.id}:hide",
            )
            self.customer.moderate(
                event,
                Action(
                    type="warn",
                    rule="insults",
                    params={
                        "message": "Merci de rester courtois.",
                        "points": 1,
                        "total_points": total,
                        "case": case,
                    },
                ),
                reason="insults",
                idempotency_key=f"{event.id}:warn",
            )
        now = time.monotonic()
        with self.lock:
            window = self.recent[event.author.id]
            window.append(now)
            while window and now - window[0] > 10:
                window.popleft()
            flooding = len(window) == 5
        if flooding:
            self.customer.moderate(
                event,
                Action(
                    type="timeout", rule="flood", params={"seconds": 600, "case": next(self.case_numbers)}
                ),
                reason="flood: 5 messages within 10s",
                idempotency_key=f"{event.id}:timeout",
            )

    def dispatch(self, command: StaffCommand) -> CommandResult:
        if command.verb == "draft" and "thread_id" in command.args:
            event = self.by_thread.get(str(command.args["thread_id"]))
            if event is None:
                return CommandResult(ok=False, message="not a case thread")
            draft_id = f"d{len(self.drafts) + 1}"
            text = str(command.args["text"])
            self.drafts[draft_id] = (event, text)
            ref = self.cards[event.id]
            self.team_chat.post(
                ref.channel,
                Card(
                    title="Draft awaiting approval",
                    text=text,
                    buttons=(
                        Button(action="approve", value=draft_id, label="Approve & send", style="primary"),
                        Button(action="edit", value=draft_id, label="Edit"),
                        Button(action="reject", value=draft_id, label="Reject", style="danger"),
                    ),
                ),
                thread=ref,
            )
            return CommandResult(
                ok=True, message="Draft saved; it is sent only after approval.", data={"draft_id": draft_id}
            )
        if command.verb == "approve":
            event, text = self.drafts[str(command.args["draft_id"])]
            message_id = self.customer.deliver_reply(
                event, text, idempotency_key=f"reply:{command.args['draft_id']}"
            )
            self.delivered.append(message_id)
            return CommandResult(ok=True, message="Reply sent.")
        return CommandResult(ok=True, message=f"{command.verb} done")
