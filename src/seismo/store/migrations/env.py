"""Alembic environment of the store migrations (executed by Alembic, not imported).

The store passes its own open connection in ``config.attributes["connection"]``; without one
(an Alembic command given only ``sqlalchemy.url``) the store's engine is created here, so
SQLite gets the same pragmas and transaction handling as at run time.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from seismo.store.sql import create_store_engine, metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place: later revisions use batch operations.
        render_as_batch=connection.dialect.name == "sqlite",
        # SQLAlchemy emits BEGIN on SQLite too, so every revision is all-or-nothing.
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the migrations Alembic was asked for, online or as an SQL script (offline)."""
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("the store migrations need a connection or sqlalchemy.url")
    engine = create_store_engine(url)
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
            own_connection.commit()
    finally:
        engine.dispose()


# Alembic executes this file with its migration context installed; any other import of it
# (pytest's doctest collection, an IDE) finds no context and must not run migrations.
if getattr(context, "config", None) is not None:
    run()
