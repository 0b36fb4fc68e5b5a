"""initial schema

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("door", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_actor", ["actor", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_log_subject", ["subject", "at"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(length=200), nullable=False),
        sa.Column("conversation_key", sa.String(length=400), nullable=False),
        sa.Column("first_event_id", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.String(length=32), nullable=False),
        sa.Column("sla", sa.JSON(), nullable=False),
        sa.Column("opened_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_customer_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_response_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("assigned_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("survey_sent_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_assignee"), ["assignee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_cases_conversation", ["conversation_key", "status"], unique=False)
        batch_op.create_index("ix_cases_status_team", ["status", "team"], unique=False)

    op.create_table(
        "console_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("thread_id", sa.String(length=128), nullable=True),
        sa.Column("key", sa.String(length=400), nullable=True),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("posted_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_console_messages_key")),
    )
    with op.batch_alter_table("console_messages", schema=None) as batch_op:
        batch_op.create_index("ix_console_messages_channel", ["channel", "id"], unique=False)

    op.create_table(
        "effects",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("applied_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_effects")),
    )
    with op.batch_alter_table("effects", schema=None) as batch_op:
        batch_op.create_index("ix_effects_status", ["status", "claimed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_effects_subject"), ["subject"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("brand", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("opened_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("silenced_until", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("policy_id", sa.String(length=64), nullable=True),
        sa.Column("escalation", sa.JSON(), nullable=True),
        sa.Column("escalation_round", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("rendered_revision", sa.Integer(), nullable=False),
        sa.Column("rendered_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("room", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_opened", ["opened_at"], unique=False)
        batch_op.create_index("ix_incidents_scope_status", ["scope", "status"], unique=False)

    op.create_table(
        "mod_case_counters",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_mod_case_counters")),
    )
    op.create_table(
        "mod_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column("moderator", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("total_points", sa.Integer(), nullable=False),
        sa.Column("expires_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appeal_of", sa.Integer(), nullable=True),
        sa.Column("effect_key", sa.String(length=400), nullable=True),
        sa.Column("caused_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mod_cases")),
        sa.UniqueConstraint("effect_key", name="uq_mod_cases_effect_key"),
        sa.UniqueConstraint("scope", "number", name="uq_mod_cases_scope_number"),
    )
    with op.batch_alter_table("mod_cases", schema=None) as batch_op:
        batch_op.create_index("ix_mod_cases_caused_by", ["caused_by"], unique=False)
        batch_op.create_index("ix_mod_cases_member", ["scope", "member_id", "created_at"], unique=False)

    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reply_to_event_id", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ethics", sa.JSON(), nullable=False),
        sa.Column("approver_roles", sa.JSON(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("delivered_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("edited_by", sa.String(length=64), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("platform_id", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_drafts_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_drafts_status", ["status", "expires_at"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.String(length=200), nullable=False),
        sa.Column("conversation_key", sa.String(length=400), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enqueued_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("processed_at", bot.store.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("source", "external_id", name="uq_events_source_external_id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_events_conversation", ["conversation_key", "created_at"], unique=False)
        batch_op.create_index("ix_events_processed_at", ["processed_at"], unique=False)
        batch_op.create_index("ix_events_received_at", ["received_at"], unique=False)
        batch_op.create_index("ix_events_status_enqueued", ["status", "enqueued_at"], unique=False)

    op.create_table(
        "incident_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("signal", sa.String(length=32), nullable=True),
        sa.Column("strength", sa.Double(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("mirror", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_entries_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_entries")),
        sa.UniqueConstraint("incident_id", "key", name="uq_incident_entries_key"),
    )
    with op.batch_alter_table("incident_entries", schema=None) as batch_op:
        batch_op.create_index("ix_incident_entries_mirror", ["incident_id", "mirror"], unique=False)
        batch_op.create_index("ix_incident_entries_timeline", ["incident_id", "at"], unique=False)

    op.create_table(
        "posted_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("thread_id", sa.String(length=128), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("posted_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_posted_messages_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posted_messages")),
        sa.UniqueConstraint("platform", "channel", "message_id", name="uq_posted_messages_location"),
    )
    with op.batch_alter_table("posted_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posted_messages_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posted_messages_subject"), ["subject"], unique=False)
        batch_op.create_index("ix_posted_messages_thread", ["platform", "channel", "thread_id"], unique=False)

    op.create_table(
        "verdicts",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("sentiment", sa.Double(), nullable=True),
        sa.Column("crisis_score", sa.Double(), nullable=False),
        sa.Column("route_team", sa.String(length=64), nullable=True),
        sa.Column("rulebook_version", sa.String(length=64), nullable=False),
        sa.Column("evaluated_at", bot.store.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_verdicts_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_verdicts")),
    )

    # The audit log is append-only: refuse UPDATE and DELETE at the database, whoever asks.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("verdicts")
    with op.batch_alter_table("posted_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_posted_messages_thread")
        batch_op.drop_index(batch_op.f("ix_posted_messages_subject"))
        batch_op.drop_index(batch_op.f("ix_posted_messages_case_id"))

    op.drop_table("posted_messages")
    with op.batch_alter_table("incident_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_entries_timeline")
        batch_op.drop_index("ix_incident_entries_mirror")

    op.drop_table("incident_entries")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_status_enqueued")
        batch_op.drop_index("ix_events_received_at")
        batch_op.drop_index("ix_events_processed_at")
        batch_op.drop_index("ix_events_conversation")
        batch_op.drop_index(batch_op.f("ix_events_case_id"))
        batch_op.drop_index(batch_op.f("ix_events_author_id"))

    op.drop_table("events")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_drafts_status")
        batch_op.drop_index(batch_op.f("ix_drafts_case_id"))

    op.drop_table("drafts")
    with op.batch_alter_table("mod_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_mod_cases_member")
        batch_op.drop_index("ix_mod_cases_caused_by")

    op.drop_table("mod_cases")
    op.drop_table("mod_case_counters")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_scope_status")
        batch_op.drop_index("ix_incidents_opened")

    op.drop_table("incidents")
    with op.batch_alter_table("effects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_effects_subject"))
        batch_op.drop_index("ix_effects_status")

    op.drop_table("effects")
    with op.batch_alter_table("console_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_console_messages_channel")

    op.drop_table("console_messages")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_team")
        batch_op.drop_index("ix_cases_conversation")
        batch_op.drop_index(batch_op.f("ix_cases_author_id"))
        batch_op.drop_index(batch_op.f("ix_cases_assignee"))

    op.drop_table("cases")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_subject")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index("ix_audit_log_actor")

    op.drop_table("audit_log")
