"""Alembic environment: the connection comes from `ldnkit.store.migrate`, never from an ini file."""

from __future__ import annotations

from alembic import context

from ldnkit.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=True,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
