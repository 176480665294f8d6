"""Alembic environment: runs migrations on the engine the server passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from sync_server.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Migrate over the server's own engine (there is no alembic.ini and no offline mode)."""
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place: batch mode copies the table.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
