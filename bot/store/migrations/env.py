"""Alembic environment: the engine comes from the caller (bot/store/migrate.py), never from a URL in a
file, so secrets stay in the environment."""

from __future__ import annotations

from alembic import context

from bot.store import models  # noqa: F401  (registers every table on the metadata)
from bot.store.base import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
