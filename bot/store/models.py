"""The tables. Events are unique on (source, external_id); effects are keyed so each runs once; the
audit log is append-only (enforced by triggers in the migration) and never holds message text or
personal identifiers, so erasing a person leaves it intact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_events_source_external_id"),
        Index("ix_events_status_enqueued", "status", "enqueued_at"),
        Index("ix_events_conversation", "conversation_key", "created_at"),
        Index("ix_events_received_at", "received_at"),
        Index("ix_events_processed_at", "processed_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(200), index=True)
    conversation_key: Mapped[str] = mapped_column(String(400))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    received_at: Mapped[datetime]
    # received → queued → processed; `failed` after the job's retries are exhausted.
    status: Mapped[str] = mapped_column(String(16), default="received")
    enqueued_at: Mapped[datetime | None] = mapped_column(default=None)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None, index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # The RQ job carrying the event (a batch job may carry several): what the sweeper checks.
    job_id: Mapped[str | None] = mapped_column(String(80), default=None)


class VerdictRow(Base):
    __tablename__ = "verdicts"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    labels: Mapped[list[Any]]
    rules: Mapped[list[Any]]
    verdict: Mapped[dict[str, Any]]
    lang: Mapped[str | None] = mapped_column(String(8), default=None)
    sentiment: Mapped[float | None] = mapped_column(default=None)
    crisis_score: Mapped[float] = mapped_column(default=0.0)
    route_team: Mapped[str | None] = mapped_column(String(64), default=None)
    rulebook_version: Mapped[str] = mapped_column(String(64), default="")
    evaluated_at: Mapped[datetime]


class EffectRow(Base):
    """One effect's claim and result. A row exists once a job claimed the effect; `applied` rows are
    skipped by every later run of any job that produces the same key."""

    __tablename__ = "effects"
    __table_args__ = (Index("ix_effects_status", "status", "claimed_at"),)

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]]
    # claimed → applied | failed; `retrying` when a platform asked us to come back later.
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    applied_at: Mapped[datetime | None] = mapped_column(default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class PostedMessage(Base):
    """Where Vigie posted what: the thread ↔ case mapping is kept here, never read back from a platform
    (Slack allows 1 request/minute on conversations.replies for unlisted apps)."""

    __tablename__ = "posted_messages"
    __table_args__ = (
        UniqueConstraint("platform", "channel", "message_id", name="uq_posted_messages_location"),
        Index("ix_posted_messages_thread", "platform", "channel", "thread_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str | None] = mapped_column(String(128), default=None)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))  # card, note, draft, incident, digest
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None, index=True)
    posted_at: Mapped[datetime]


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_team", "status", "team"),
        Index("ix_cases_conversation", "conversation_key", "status"),
        # Round-robin assignment: open cases per agent, last assignment per agent (migration 0003).
        Index("ix_cases_assignee_status", "assignee", "status"),
        Index("ix_cases_assignee_assigned", "assignee", "assigned_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, pending, snoozed, resolved
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    labels: Mapped[list[Any]]
    assignee: Mapped[str | None] = mapped_column(String(64), default=None)
    source: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(200), index=True)
    conversation_key: Mapped[str] = mapped_column(String(400))
    first_event_id: Mapped[str] = mapped_column(String(32))
    last_event_id: Mapped[str] = mapped_column(String(32))
    sla: Mapped[dict[str, Any]]  # due times and per-target status: active, hit, missed
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    last_customer_at: Mapped[datetime | None] = mapped_column(default=None)
    last_response_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    # Bumped on every change, so each rendering of the case card is one effect (`update_card` rev<n>).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # Round-robin picks the on-duty member whose last assignment is oldest; kept per case.
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    opened_by: Mapped[str] = mapped_column(String(64), default="vigie")
    # When the satisfaction survey reached the customer: it is sent once per case, and a rating
    # received within `survey.answer_within` of this is its answer.
    survey_sent_at: Mapped[datetime | None] = mapped_column(default=None)


class DraftRow(Base):
    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_status", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reply_to_event_id: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # pending, blocked, approved, rejected, expired, sent, failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    ethics: Mapped[dict[str, Any]]
    approver_roles: Mapped[list[Any]]
    template: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    delivery_error: Mapped[str | None] = mapped_column(Text, default=None)
    # Bumped on every change, so each rendering of the draft card is one effect.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    edited_by: Mapped[str | None] = mapped_column(String(64), default=None)
    lang: Mapped[str | None] = mapped_column(String(8), default=None)
    platform_id: Mapped[str | None] = mapped_column(String(256), default=None)


class ConsoleMessage(Base):
    """The console platform's team channels: what a terminal team sees, kept so `vigie demo` and
    tests can read back every post."""

    __tablename__ = "console_messages"
    __table_args__ = (Index("ix_console_messages_channel", "channel", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # The effect key that posted it: the console deduplicates, so a re-run job never posts twice.
    key: Mapped[str | None] = mapped_column(String(400), default=None, unique=True)
    card: Mapped[dict[str, Any]]
    posted_at: Mapped[datetime]
    updated_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject", "subject", "at"),
        Index("ix_audit_log_actor", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))  # staff id, "vigie" for automatic actions
    door: Mapped[str] = mapped_column(String(16))  # slack, discord, console, cli, http, worker
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))  # event id, case:N, draft:N, rules
    detail: Mapped[dict[str, Any]]


class IncidentRow(Base):
    """A crisis incident: one per brand scope while it lives. `data` is the core's `Incident` (counts,
    peak spike, reach, rules: what the summary is rendered from); the columns repeat what queries and
    the commands need. `escalation` is the step engine's state, advanced by the scheduler."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_scope_status", "scope", "status"),
        Index("ix_incidents_opened", "opened_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # inc-…, derived from its first signal
    scope: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(100), default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, acknowledged, resolved
    severity: Mapped[str] = mapped_column(String(16), default="minor")  # minor, major, critical
    score: Mapped[float] = mapped_column(default=0.0)
    data: Mapped[dict[str, Any]]
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    silenced_until: Mapped[datetime | None] = mapped_column(default=None)
    policy_id: Mapped[str | None] = mapped_column(String(64), default=None)
    escalation: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # Bumped by every escalate_again: page effect keys include it, so a second run of the steps pages.
    escalation_round: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every change, so each rendering of the incident card is one `update_card` effect.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    rendered_revision: Mapped[int] = mapped_column(Integer, default=0)
    rendered_at: Mapped[datetime | None] = mapped_column(default=None)
    room: Mapped[bool] = mapped_column(default=False)


class IncidentEntryRow(Base):
    """The timeline of an incident: events, signals and staff actions. `key` makes each entry once
    per incident, so a job that runs again adds nothing."""

    __tablename__ = "incident_entries"
    __table_args__ = (
        UniqueConstraint("incident_id", "key", name="uq_incident_entries_key"),
        Index("ix_incident_entries_timeline", "incident_id", "at"),
        Index("ix_incident_entries_mirror", "incident_id", "mirror"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # event, signal, action, page
    at: Mapped[datetime]  # when it happened (an event's own time)
    recorded_at: Mapped[datetime]  # when Vigie saw it: the crisis room's rate is measured on this
    event_id: Mapped[str | None] = mapped_column(String(32), default=None)
    signal: Mapped[str | None] = mapped_column(String(32), default=None)
    strength: Mapped[float] = mapped_column(default=0.0)
    detail: Mapped[dict[str, Any]]
    # Crisis room mirroring of event entries: "" none, posted, pending (waits for a digest), digested.
    mirror: Mapped[str] = mapped_column(String(16), default="")


class ModCaseRow(Base):
    """A numbered moderation case: one sanction, AutoMod action, appeal or note about one member.
    Numbers run per scope (`<source>:<guild>`, or the source alone), as in Red's modlog, so a server's
    moderators see #1, #2, … of their own server. `effect_key` ties a case to the `moderate` effect
    that carries it out, so a retried effect never opens a second case."""

    __tablename__ = "mod_cases"
    __table_args__ = (
        UniqueConstraint("scope", "number", name="uq_mod_cases_scope_number"),
        UniqueConstraint("effect_key", name="uq_mod_cases_effect_key"),
        Index("ix_mod_cases_member", "scope", "member_id", "created_at"),
        Index("ix_mod_cases_caused_by", "caused_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(64))
    # delete, hide, warn, timeout, kick, ban, automod, appeal, note
    action: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(32), default=None)
    rule: Mapped[str | None] = mapped_column(String(200), default=None)
    moderator: Mapped[str] = mapped_column(String(64))  # staff id, "vigie", "automod" or "member"
    reason: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[int] = mapped_column(Integer, default=0)
    # The member's active points once this case counted: shown again identically when a retry re-renders it.
    total_points: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_s: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime]
    # active, expired, revoked, appealed, upheld, overturned
    status: Mapped[str] = mapped_column(String(16), default="active")
    appeal_of: Mapped[int | None] = mapped_column(Integer, default=None)
    effect_key: Mapped[str | None] = mapped_column(String(400), default=None)
    # The id of the warning case whose points crossed the threshold that opened this one.
    caused_by: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_by: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)


class ModCaseCounterRow(Base):
    """The last case number given out per scope. Allocation is one upsert on this row, which
    serialises concurrent writers of one scope (a row lock on PostgreSQL, the writer lock on SQLite)
    without gaps when a transaction rolls back."""

    __tablename__ = "mod_case_counters"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
