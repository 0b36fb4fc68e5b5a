"""A week of history with answers worked out by hand (the arithmetic is in the test comments).

The report period is Mon 2026-11-16 00:00 → Mon 2026-11-23 00:00, Europe/Paris (UTC+1 in November),
so the previous period is Mon 2026-11-09 → Mon 2026-11-16. Team `care` works Mon-Fri 09:00-18:00.
conftest.py creates the tables with `Base.metadata.create_all` (migration 0001 predates
`console_messages.key`) and adds the audit log's append-only triggers, so any UPDATE or DELETE of it
by erasure or retention fails the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.events import Event, RuleHit, Verdict
from bot.store.models import CaseRow, ConsoleMessage, DraftRow, EffectRow, PostedMessage
from bot.store.unit import Store
from bot.workspace import Workspace

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SINCE, UNTIL = "2026-11-16", "2026-11-23"


def paris(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def iso(at: datetime) -> str:
    return at.isoformat()


WORKSPACE = Workspace.model_validate(
    {
        "language": "en",
        "brand": {"name": "Maison Lune", "aliases": ["maisonlune"], "competitors": ["Soleil & Co", "Brume"]},
        "channels": {"inbox": {"console": "inbox"}},
        "teams": {"care": {"channel": "inbox", "timezone": "Europe/Paris"}},
        "staff": {"tom": {"name": "Tom", "teams": ["care"]}, "samir": {"name": "Samir", "teams": ["care"]}},
    }
)

TRIGGERS = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'append-only'); END",
)


def event(
    external_id: str,
    source: str,
    kind: str,
    at: datetime,
    text_: str,
    *,
    author: str = "someone",
    name: str | None = None,
    **extra: Any,
) -> Event:
    return Event.model_validate(
        {
            "source": source,
            "kind": kind,
            "external_id": external_id,
            "text": text_,
            "author": {"id": author, "name": name},
            "created_at": at,
            **extra,
        }
    )


def verdict(
    e: Event,
    *,
    labels: tuple[str, ...] = (),
    rules: tuple[str, ...] = (),
    sentiment: float | None = None,
    matched: tuple[str, ...] = (),
) -> Verdict:
    return Verdict(
        event_id=e.id,
        labels=labels,
        hits=tuple(RuleHit(rule=r, matched=matched) for r in rules),
        sentiment=sentiment,
    )


def target(status: str, due: datetime, at: datetime | None = None) -> dict[str, Any]:
    return {"since": None, "due": iso(due), "status": status, "at": iso(at) if at else None, "seq": 1}


# --- the events -------------------------------------------------------------------------------------

E1 = event("e1", "instagram", "comment", paris(16, 10), "Love Maison Lune!")
E2 = event("e2", "google-reviews", "review", paris(16, 11), "Great shop, no brumes at all", rating=5)
E3 = event(
    "e3",
    "google-reviews",
    "review",
    paris(17, 10),
    "Colis cassé, chez Brume c'est mieux",
    rating=2,
    author="g-77",
    name="Jeanne Q.",
)
E4 = event("e4", "discord", "message", paris(18, 9), "you are an idiot")
E5 = event("e5", "instagram", "comment", paris(18, 15), "meh", brand="Soleil & Co")
E6 = event("e6", "trustpilot", "review", paris(20, 16, 30), "maisonlune livraison lente", rating=4)
E7 = event("e7", "instagram", "dm", paris(21, 11, 30), "where is my order?")
E8 = event("e8", "survey", "message", paris(22, 10), "4 stars", rating=4, metadata={"survey_case": 1})
E9 = event("e9", "discord", "message", paris(20, 12), "buy cheap followers")  # moderated as spam
P1 = event("p1", "instagram", "comment", paris(10, 10), "nice")
P2 = event("p2", "google-reviews", "review", paris(11, 10), "average", rating=3)
P3 = event(
    "p3", "google-reviews", "review", paris(12, 9, 55), "Still waiting", author="g-77", name="Jeanne Q."
)

VERDICTS = {
    "e1": verdict(E1, labels=("praise",), sentiment=0.6),
    "e2": verdict(E2, sentiment=0.9),
    "e3": verdict(E3, labels=("after-sales",), rules=("broken-parcel",), sentiment=-0.7, matched=("cassé",)),
    "e4": verdict(E4, labels=("toxic",), rules=("insults",), sentiment=-0.4, matched=("idiot",)),
    "e5": verdict(E5, sentiment=0.0),
    "e6": verdict(E6, labels=("after-sales",), rules=("delivery-late",), sentiment=-0.2),
    "e7": verdict(E7, labels=("after-sales",), sentiment=0.3),
    "e9": verdict(E9, labels=("spam",), rules=("spam",), sentiment=0.0),
    "p1": verdict(P1, sentiment=0.5),
    "p3": verdict(P3, labels=("after-sales",)),
}


def populate(store: Store) -> None:
    with store.unit() as unit:
        events = [E1, E2, E3, E4, E5, E6, E7, E8, E9, P1, P2, P3]
        unit.events.insert_many(events, now=NOW)
        for v in VERDICTS.values():
            unit.events.save_verdict(v, now=NOW)
        s = unit.session
        cases = [
            # c1: e3, Tue 17 10:05 → answered 12:05 (2 h) → resolved Thu 19 10:05 (48 h wall, 18 h business)
            CaseRow(
                id=1,
                team="care",
                status="resolved",
                labels=["after-sales"],
                assignee="tom",
                source="google-reviews",
                author_id="g-77",
                conversation_key="google-reviews:author:g-77",
                first_event_id=E3.id,
                last_event_id=E3.id,
                opened_at=paris(17, 10, 5),
                updated_at=NOW,
                first_response_at=paris(17, 12, 5),
                resolved_at=paris(19, 10, 5),
                sla={
                    "targets": {
                        "first_response": target("hit", paris(17, 18, 5), paris(17, 12, 5)),
                        "resolution": target("hit", paris(20, 10, 5), paris(19, 10, 5)),
                    }
                },
            ),
            # c2: e6, Fri 20 17:00 → answered Sat 21 11:00 (18 h wall, 1 h business: Fri 17-18)
            CaseRow(
                id=2,
                team="care",
                status="pending",
                labels=["after-sales"],
                assignee="tom",
                source="trustpilot",
                author_id="someone",
                conversation_key="trustpilot:author:someone",
                first_event_id=E6.id,
                last_event_id=E6.id,
                opened_at=paris(20, 17),
                updated_at=NOW,
                first_response_at=paris(21, 11),
                sla={
                    "targets": {
                        "first_response": target("hit", paris(23, 16), paris(21, 11)),
                        "resolution": target("active", paris(25, 17)),
                    }
                },
            ),
            # c3: e7, Sat 21 12:00, unanswered, unassigned; first response due Mon 23 17:00 (after the end)
            CaseRow(
                id=3,
                team="care",
                status="open",
                labels=["after-sales"],
                assignee=None,
                source="instagram",
                author_id="someone",
                conversation_key="instagram:author:someone",
                first_event_id=E7.id,
                last_event_id=E7.id,
                opened_at=paris(21, 12),
                updated_at=NOW,
                sla={"targets": {"first_response": target("active", paris(23, 17))}},
            ),
            # c4: p3 (Jeanne again), Thu 12, never answered: first response missed Thu 12 (previous
            # period); resolution still "active" though due Tue 17 10:00 → missed in this period.
            CaseRow(
                id=4,
                team="care",
                status="open",
                labels=["after-sales"],
                assignee="samir",
                source="google-reviews",
                author_id="g-77",
                conversation_key="google-reviews:thread:x",
                first_event_id=P3.id,
                last_event_id=P3.id,
                opened_at=paris(12, 10),
                updated_at=NOW,
                sla={
                    "targets": {
                        "first_response": target("missed", paris(12, 18)),
                        "resolution": target("active", paris(17, 10)),
                    }
                },
            ),
            # c5: previous period only: Mon 9 10:00 → answered 11:00 → resolved Wed 11 10:00 (late)
            CaseRow(
                id=5,
                team="care",
                status="resolved",
                labels=["billing"],
                assignee="tom",
                source="instagram",
                author_id="other",
                conversation_key="instagram:author:other",
                first_event_id=P1.id,
                last_event_id=P1.id,
                opened_at=paris(9, 10),
                updated_at=NOW,
                first_response_at=paris(9, 11),
                resolved_at=paris(11, 10),
                sla={
                    "targets": {
                        "first_response": target("hit", paris(9, 18), paris(9, 11)),
                        "resolution": target("missed", paris(10, 10), paris(11, 10)),
                    }
                },
            ),
        ]
        s.add_all(cases)
        s.flush()
        for event_id, case_id in ((E3.id, 1), (E6.id, 2), (E7.id, 3), (P3.id, 4)):
            unit.events.get(event_id).case_id = case_id  # type: ignore[union-attr]
        s.add_all(
            [
                _moderation(E4.id, "hide", "insults", paris(18, 9, 1)),
                _moderation(E4.id, "warn", "insults", paris(18, 9, 1)),
                _moderation(E9.id, "delete", "spam", paris(20, 12, 1)),
                _moderation(P1.id, "hide", "insults", paris(10, 10, 1)),  # previous period
                EffectRow(
                    key=f"{E3.id}:post_card:inbox",
                    kind="post_card",
                    subject=E3.id,
                    status="applied",
                    params={"card": _card(E3)},
                    claimed_at=paris(17, 10, 1),
                    applied_at=paris(17, 10, 1),
                    result={"message_id": "1"},
                ),
                EffectRow(
                    key="case:1:update_card:rev2",
                    kind="update_card",
                    subject="case:1",
                    status="applied",
                    params={"card": _card(E3)},
                    claimed_at=paris(17, 12),
                    applied_at=paris(17, 12),
                ),
                EffectRow(
                    key="draft:1:post_note:draft",
                    kind="post_note",
                    subject="draft:1",
                    status="applied",
                    params={"card": {"title": "Draft", "text": "Bonjour Jeanne Q., désolés pour le colis"}},
                    claimed_at=paris(17, 11),
                    applied_at=paris(17, 11),
                ),
                EffectRow(
                    key="incident:z:page:lead",
                    kind="page",
                    subject="incident:z",
                    status="applied",
                    params={"card": {"title": "Crisis", "text": "worst: g-77", "who": "g-77"}},
                    claimed_at=paris(17, 11),
                    applied_at=paris(17, 11),
                ),
                EffectRow(
                    key=f"{E1.id}:post_card:inbox",
                    kind="post_card",
                    subject=E1.id,
                    status="applied",
                    params={"card": _card(E1)},
                    claimed_at=paris(16, 10),
                    applied_at=paris(16, 10),
                ),
                PostedMessage(
                    platform="console",
                    channel="inbox",
                    message_id="1",
                    subject=E3.id,
                    role="card",
                    case_id=1,
                    posted_at=paris(17, 10, 1),
                ),
                PostedMessage(
                    platform="console",
                    channel="inbox",
                    message_id="2",
                    subject=E1.id,
                    role="card",
                    posted_at=paris(16, 10),
                ),
                ConsoleMessage(
                    channel="inbox",
                    key=f"{E3.id}:post_card:inbox",
                    card=_card(E3),
                    posted_at=paris(17, 10, 1),
                ),
                ConsoleMessage(
                    channel="inbox", key="case:1:update_card:rev2", card=_card(E3), posted_at=paris(17, 12)
                ),
                ConsoleMessage(
                    channel="inbox", key=f"{E1.id}:post_card:inbox", card=_card(E1), posted_at=paris(16, 10)
                ),
                DraftRow(
                    id=1,
                    case_id=1,
                    reply_to_event_id=E3.id,
                    author="tom",
                    text="Bonjour Jeanne Q., désolés pour le colis",
                    status="sent",
                    ethics={"hits": ["cassé"]},
                    approver_roles=["lead"],
                    created_at=paris(17, 11),
                    expires_at=paris(18, 11),
                    delivered_at=paris(17, 12, 5),
                ),
                DraftRow(
                    id=2,
                    case_id=5,
                    reply_to_event_id=P1.id,
                    author="tom",
                    text="Merci !",
                    status="sent",
                    ethics={},
                    approver_roles=["lead"],
                    created_at=paris(9, 10, 30),
                    expires_at=paris(10, 10, 30),
                ),
            ]
        )
        for subject, action, at in (
            ("incident:a", "crisis.open", datetime(2026, 11, 18, 14, 0, tzinfo=UTC)),
            ("incident:a", "crisis.ack", datetime(2026, 11, 18, 14, 30, tzinfo=UTC)),
            ("incident:a", "crisis.ack", datetime(2026, 11, 18, 15, 0, tzinfo=UTC)),  # a second ack: ignored
            ("incident:b", "crisis.open", datetime(2026, 11, 21, 8, 0, tzinfo=UTC)),
            ("incident:c", "crisis.open", datetime(2026, 11, 10, 8, 0, tzinfo=UTC)),  # previous period
            ("incident:c", "crisis.ack", datetime(2026, 11, 10, 9, 0, tzinfo=UTC)),
        ):
            unit.audit(actor="lea", door="slack", action=action, subject=subject, at=at)
        unit.audit(
            actor="tom",
            door="slack",
            action="case.assigned",
            subject="case:1",
            detail={"to": "tom"},
            at=paris(17, 10, 6),
        )
        unit.audit(
            actor="vigie",
            door="worker",
            action="draft.sent",
            subject="draft:1",
            detail={"case": 1},
            at=paris(17, 12, 5),
        )


def _moderation(event_id: str, action: str, rule: str, at: datetime) -> EffectRow:
    return EffectRow(
        key=f"{event_id}:moderate:{action}",
        kind="moderate",
        subject=event_id,
        status="applied",
        params={
            "action": {"type": action, "rule": rule, "params": {}, "dry_run": False},
            "reason": f"Vigie: rule {rule}",
        },
        claimed_at=at,
        applied_at=at,
    )


def _card(e: Event) -> dict[str, Any]:
    author = e.author.name or e.author.id
    return {
        "title": f"{e.kind} on {e.source}",
        "text": e.text,
        "fields": [["author", author]],
        "labels": [],
        "url": None,
        "buttons": [],
        "severity": "info",
        "footer": e.id,
    }
