"""cases: indexes for round-robin assignment (open cases per agent, last assignment per agent)

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # Assigning a case counts each candidate's open cases and finds when each was last given one.
    # With only `assignee` indexed both read every case an agent ever had, row by row: a cost that
    # grew with the history. (assignee, status) counts from the index alone; (assignee, assigned_at)
    # gives the latest assignment in one index probe. They replace the single-column index.
    op.create_index("ix_cases_assignee_status", "cases", ["assignee", "status"])
    op.create_index("ix_cases_assignee_assigned", "cases", ["assignee", "assigned_at"])
    op.drop_index("ix_cases_assignee", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_assignee", "cases", ["assignee"])
    op.drop_index("ix_cases_assignee_assigned", table_name="cases")
    op.drop_index("ix_cases_assignee_status", table_name="cases")
