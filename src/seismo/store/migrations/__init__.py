"""Alembic migrations of the SQL store, run programmatically: no ``alembic.ini`` is needed.

Alembic owns the schema: tables are created and changed only by the revisions in
``versions/``, never by ``metadata.create_all``. The store runs them through the helpers
below on a connection it opened (so SQLite's pragmas apply and the whole upgrade is one
transaction); ``seismo db upgrade --store URL`` does the same from the command line.

To add a revision, change the tables in :mod:`seismo.store.sql`, then let Alembic draft the
migration against a database at the current head and edit the result::

    from alembic import command
    from seismo.store.migrations import alembic_config

    config = alembic_config("sqlite:///scratch.db")
    command.upgrade(config, "head")
    command.revision(config, message="what changed", autogenerate=True, rev_id="0002")

``tests/store/test_migrations.py`` fails while the tables and the migrations disagree.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """An Alembic configuration for the store's migrations, built in memory.

    Parameters
    ----------
    url
        Database URL for Alembic commands that open their own connection (``env.py``
        then opens it with the store's engine settings). Not needed with ``connection``.
    connection
        An open connection, used as it is: the migrations run inside its transaction.
    """
    config = Config()
    # Config is configparser-based: a literal "%" must be doubled.
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The revision a database must be at for this seismo (the single head of ``versions/``)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the store migrations must have exactly one head, found {heads}")
    return heads[0]


def known_revisions() -> frozenset[str]:
    """Every revision this seismo ships."""
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(revision.revision for revision in script.walk_revisions())


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions recorded in the database; empty for a database Alembic never touched."""
    return tuple(MigrationContext.configure(connection).get_current_heads())


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Migrate the database of ``connection`` up to ``revision``, inside its transaction."""
    command.upgrade(alembic_config(connection=connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Migrate the database of ``connection`` down to ``revision`` (``"base"``: drop all)."""
    command.downgrade(alembic_config(connection=connection), revision)
