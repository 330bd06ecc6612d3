"""Persistent state of the service and the monitor behind one :class:`Store` interface.

>>> from seismo.store import open_store
>>> open_store("mysql://localhost/seismo")
Traceback (most recent call last):
...
seismo.errors.InputError: unknown store URL scheme 'mysql'; use one of: sqlite:///...

Backends are chosen by URL scheme and imported only when used.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from seismo.errors import InputError
from seismo.store.base import (
    AlertEvent,
    ApiToken,
    Decision,
    DuplicatePrediction,
    Label,
    LabelChange,
    LabelOutcome,
    ModelVersion,
    MonitorError,
    Prediction,
    Rollout,
    SchemaOutdated,
    Silence,
    Store,
    StoredAlert,
    StoredPrediction,
    StoreError,
    StoreUnavailable,
    UiSession,
    WindowData,
    WindowDigest,
    WindowSummary,
)
from seismo.store.group_commit import GroupCommitWriter

if TYPE_CHECKING:
    from seismo.store.sql import SQLStore

__all__ = [
    "SCHEMES",
    "AlertEvent",
    "ApiToken",
    "Decision",
    "DuplicatePrediction",
    "GroupCommitWriter",
    "Label",
    "LabelChange",
    "LabelOutcome",
    "ModelVersion",
    "MonitorError",
    "Prediction",
    "Rollout",
    "SchemaOutdated",
    "Silence",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredAlert",
    "StoredPrediction",
    "UiSession",
    "WindowData",
    "WindowDigest",
    "WindowSummary",
    "open_store",
    "upgrade",
]

#: URL schemes with a backend, and an example of each.
SCHEMES: Final = {
    "sqlite": "sqlite:///path/to/seismo.db",
    "postgresql+psycopg": "postgresql+psycopg://user@host:5432/database",
}


def _sql_store(url: str) -> SQLStore:
    scheme = url.partition("://")[0] if "://" in url else url.partition(":")[0]
    if scheme not in SCHEMES:
        hint = ""
        if scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
            hint = f" (for PostgreSQL write postgresql+psycopg://{url.partition('://')[2]})"
        raise InputError(
            f"unknown store URL scheme {scheme!r}; use one of: {', '.join(SCHEMES.values())}" + hint
        )
    from seismo.store.sql import SQLStore

    return SQLStore(url)


def open_store(url: str, *, upgrade: bool = False) -> Store:
    """Open the store at ``url`` and check that its schema is current.

    Parameters
    ----------
    url
        ``sqlite:///path/to/seismo.db`` (the embedded default; missing directories are
        created) or ``postgresql+psycopg://user@host:5432/database``.
    upgrade
        Migrate the schema to this seismo's version first (the embedded SQLite default does;
        a shared PostgreSQL is migrated on purpose with ``seismo db upgrade --store URL``).

    Raises
    ------
    ValueError
        The URL scheme has no backend.
    StoreUnavailable
        The database cannot be reached.
    SchemaOutdated
        The schema is not at this seismo's version; the message gives the upgrade command.
    """
    if upgrade:
        _migrate(url)
    store = _sql_store(url)
    try:
        store.check()
    except BaseException:
        store.close()
        raise
    return store


def _migrate(url: str) -> None:
    # A brand-new SQLite file is switched to WAL by the first connection; a second connection
    # racing that switch gets "database is locked" at once (SQLite does not wait on it), so a
    # few short retries cover simultaneous first upgrades.
    for attempt in range(20):
        store = _sql_store(url)
        try:
            store.upgrade()
            return
        except StoreUnavailable as error:
            if "locked" not in str(error) or attempt == 19:
                raise
        finally:
            store.close()
        time.sleep(0.05 * (attempt + 1))


def upgrade(url: str) -> None:
    """Migrate the schema of the store at ``url`` to this seismo's version.

    Safe to run again and from several processes at once: the migration is one transaction,
    concurrent upgrades wait for each other, and an up-to-date schema is left alone.
    """
    _migrate(url)
