"""events.job_id: the RQ job that carries an event (one job may carry a batch of events)

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no default) on both SQLite and PostgreSQL: no table rewrite.
    op.add_column("events", sa.Column("job_id", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("job_id")
