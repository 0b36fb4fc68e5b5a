"""Opening cases from routed events, attaching the rest of a customer conversation to them, and
assigning them round-robin. One conversation is one case: events with the same source thread, or by
the same author when the source has no threads (`Event.conversation_key`), join the case that is not
yet resolved; a resolved case is reopened when the customer writes again within the workspace's
`conversation_window`, after which a new case starts."""

from __future__ import annotations

from datetime import datetime

from bot.casework import assignment, sla
from bot.casework.business_hours import Calendar
from bot.casework.context import SYSTEM, Config, Outbox, case_card_effects, job_safe, touch
from bot.casework.states import case_next
from bot.events import Event, Verdict
from bot.store.cases import CaseRepo, EventLookup
from bot.store.models import CaseRow
from bot.store.unit import Unit
from bot.workspace import PRIORITIES


def find_conversation_case(unit: Unit, config: Config, event: Event) -> CaseRow | None:
    case = CaseRepo(unit).latest_for_conversation(event.conversation_key)
    if case is None:
        return None
    if case.status != "resolved":
        return case
    window = config.workspace.conversation_window
    if case.resolved_at is not None and event.created_at - case.resolved_at <= window:
        return case
    return None


def by_staff(config: Config, event: Event) -> bool:
    """Staff talking on the source platform (a Discord moderator in the customer's thread) is not the
    customer writing back: it neither opens nor reopens a case."""
    return config.workspace.staff_by_identity(event.source, event.author.id) is not None


def already_routed(unit: Unit, event: Event) -> CaseRow | None:
    """A retried job or a redelivered event: the event already belongs to a case."""
    row = EventLookup(unit).get(event.id)
    if row is None or row.case_id is None:
        return None
    return CaseRepo(unit).get(row.case_id)


def attach(unit: Unit, config: Config, out: Outbox, event: Event, now: datetime) -> CaseRow | None:
    """Join a customer's new message to its conversation's case, if there is one; the case owes an
    answer again (pending, snoozed or resolved → open) and its next-response clock starts."""
    done = already_routed(unit, event)
    if done is not None:
        return done
    if by_staff(config, event):
        return None
    found = find_conversation_case(unit, config, event)
    if found is None:
        return None
    case = CaseRepo(unit).get(found.id, lock=True) or found
    EventLookup(unit).attach(event.id, case.id)
    before = case.status
    case.status = case_next(case.status, "customer_wrote")
    case.last_event_id = event.id
    case.last_customer_at = event.created_at
    doc = sla.copy_doc(case.sla)
    calendar = _calendar(config, case, doc)
    if before == "resolved":
        case.resolved_at = None
        if calendar is not None:
            out.timers += sla.reopened(case.id, doc, now, calendar)
    case.snoozed_until = None
    if calendar is not None:
        out.timers += sla.customer_wrote(case.id, doc, event.created_at, now, calendar)
    case.sla = doc
    touch(case, now)
    unit.audit(
        actor=SYSTEM,
        door="worker",
        action="case.attached",
        subject=f"case:{case.id}",
        detail={"event": event.id, "from": before, "to": case.status},
        at=now,
    )
    if case.assignee is None:
        auto_assign(unit, config, out, case, now)
    out.effects += case_card_effects(unit, case, config)
    return case


def open_case(
    unit: Unit,
    config: Config,
    out: Outbox,
    event: Event,
    *,
    team: str,
    priority: str,
    labels: tuple[str, ...] | list[str],
    sla_override: str | None,
    now: datetime,
    actor: str = SYSTEM,
    door: str = "worker",
) -> CaseRow:
    case = CaseRepo(unit).add(
        CaseRow(
            team=team,
            status="open",
            priority=priority if priority in PRIORITIES else "normal",
            labels=list(dict.fromkeys(labels)),
            assignee=None,
            source=event.source,
            author_id=event.author.id,
            conversation_key=event.conversation_key,
            first_event_id=event.id,
            last_event_id=event.id,
            sla={"targets": {}},
            opened_at=now,
            updated_at=now,
            last_customer_at=event.created_at,
            revision=1,
            opened_by=actor,
        )
    )
    policy = sla.policy_for(config.workspace, team, case.priority, sla_override)
    if policy is not None and team in config.workspace.teams:
        doc = sla.start(
            policy, now, sla.calendar_for(config.workspace, team, {"business_hours": policy.business_hours})
        )
        case.sla = doc
        out.timers += sla.all_timers(case.id, doc, now)
    EventLookup(unit).attach(event.id, case.id)
    unit.audit(
        actor=actor,
        door=door,
        action="case.opened",
        subject=f"case:{case.id}",
        detail={
            "event": event.id,
            "team": team,
            "priority": case.priority,
            "known_team": team in config.workspace.teams,
        },
        at=now,
    )
    auto_assign(unit, config, out, case, now)
    return case


def open_or_attach(
    unit: Unit, config: Config, out: Outbox, event: Event, verdict: Verdict, now: datetime
) -> tuple[CaseRow | None, bool]:
    """The routing entry point: attach to the conversation's case, else open one for the route
    (None for a staff member's own message)."""
    done = already_routed(unit, event)
    if done is not None:
        return done, False
    existing = attach(unit, config, out, event, now)
    if existing is not None:
        _merge_route(unit, config, out, existing, verdict, now)
        return existing, False
    if verdict.route is None or by_staff(config, event):
        return None, False
    case = open_case(
        unit,
        config,
        out,
        event,
        team=verdict.route.team,
        priority=verdict.route.priority,
        labels=verdict.labels,
        sla_override=verdict.route.sla,
        now=now,
    )
    return case, True


def _merge_route(
    unit: Unit, config: Config, out: Outbox, case: CaseRow, verdict: Verdict, now: datetime
) -> None:
    """A later message of the conversation may carry new labels or a higher priority."""
    labels = list(dict.fromkeys([*(case.labels or []), *verdict.labels]))
    changed = labels != list(case.labels or [])
    case.labels = labels
    route = verdict.route
    if route is not None and PRIORITIES.index(route.priority) > PRIORITIES.index(case.priority):
        reprice(unit, config, out, case, route.priority, now, actor=SYSTEM, door="worker")
        return
    if changed:
        touch(case, now)
        out.effects += case_card_effects(unit, case, config)


def reprice(
    unit: Unit,
    config: Config,
    out: Outbox,
    case: CaseRow,
    priority: str,
    now: datetime,
    *,
    actor: str,
    door: str,
) -> None:
    before = case.priority
    case.priority = priority
    policy = sla.policy_for(config.workspace, case.team, priority)
    if case.team in config.workspace.teams:
        doc, ops = sla.repriced(
            case.id,
            sla.copy_doc(case.sla),
            policy,
            now,
            lambda d: sla.calendar_for(config.workspace, case.team, d),
            opened_at=case.opened_at,
            responded=case.first_response_at is not None,
        )
        case.sla = doc
        out.timers += ops
    touch(case, now)
    unit.audit(
        actor=actor,
        door=door,
        action="case.priority",
        subject=f"case:{case.id}",
        detail={"from": before, "to": priority},
        at=now,
    )
    out.effects += case_card_effects(unit, case, config)


def _calendar(config: Config, case: CaseRow, doc: dict[str, object]) -> Calendar | None:
    if case.team not in config.workspace.teams or not doc.get("durations"):
        return None
    return sla.calendar_for(config.workspace, case.team, dict(doc))


def auto_assign(unit: Unit, config: Config, out: Outbox, case: CaseRow, now: datetime) -> str | None:
    """Round-robin; when nobody on duty has room the case stays unassigned and is re-offered at the
    team's next opening (and whenever capacity frees up, see `reoffer`)."""
    if case.status == "resolved" or case.team not in config.workspace.teams:
        return None
    repo = CaseRepo(unit)
    team_members = assignment.members(config.workspace, case.team)
    chosen = assignment.pick(
        config.workspace, case.team, now, repo.open_counts(team_members), repo.last_assigned(team_members)
    )
    if chosen is None:
        opening = assignment.next_opening(config.workspace, case.team, now)
        if opening is not None:
            key = f"team-{job_safe(case.team)}-reoffer-{int(opening.timestamp())}"
            out.timers.append(sla.TimerOp(key, opening, "team_open", {"team": case.team}))
        return None
    case.assignee = chosen
    case.assigned_at = now
    touch(case, now)
    unit.audit(
        actor=SYSTEM,
        door="worker",
        action="case.assigned",
        subject=f"case:{case.id}",
        detail={"to": chosen, "how": "round_robin"},
        at=now,
    )
    unit.flush()
    return chosen


def reoffer(unit: Unit, config: Config, out: Outbox, team: str, now: datetime) -> list[int]:
    """Offer the team's unassigned cases, oldest first, to whoever is on duty with room."""
    assigned = []
    for case in CaseRepo(unit).list(statuses=("open",), team=team, unassigned=True, limit=200):
        if auto_assign(unit, config, out, case, now) is None:
            break
        assigned.append(case.id)
        out.effects += case_card_effects(unit, case, config)
    return assigned
