"""Alembic environment of the decision store: runs on the connection `db.open_store` hands over.

The migrations ship inside the package and are applied when a store is opened, so `policydsl serve` and every
command work on an empty file or database with no setup step.
"""

from __future__ import annotations

from alembic import context

from policydsl.store.models import metadata

config = context.config


def run_migrations() -> None:
    """Migrate on the connection given in `config.attributes`, or on the configured URL (autogenerate)."""
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
