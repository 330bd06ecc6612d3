"""The SQLAlchemy store: SQLite (the embedded default) and PostgreSQL, one code path.

One module per client of the store: :mod:`.tables` (the schema and how values are written),
:mod:`.engine` (engines, transactions, migrations), :mod:`.models`, :mod:`.predictions`,
:mod:`.labels`, :mod:`.windows` (window summaries, watermarks), :mod:`.alerts` and
:mod:`.access` (API token digests, leases);
:class:`SQLStore` is their union.

Tables (SQLAlchemy Core; the Alembic revisions in :mod:`seismo.store.migrations` create them)::

    model_versions    (model, version) PK, task, reference, artifact, classes, features,
                      description, created_at
    predictions       seq PK (ingestion order), id UNIQUE, model, version, timestamp,
                      features, output, score, label, labelled_at
    label_changes     seq PK (log order), prediction_seq -> predictions.seq, model, label,
                      received_at
    window_summaries  (model, version, window_start, window_end, segment) PK, payload,
                      updated_at
    watermarks        (job, model) PK, seq, updated_at

JSON values (features, output, score, labels, class and feature names) are stored as text
written by :mod:`json` (ASCII-escaped, so NaN and infinities, NUL characters and lone
surrogates survive on both databases). Timestamps are ``timestamptz`` on PostgreSQL and UTC
text on SQLite; both come back timezone-aware in UTC. Naive datetimes are refused.

A ``seq`` watermark must never skip a row: a job that read up to seq 200 must not later find
a row 150 committing. SQLite serialises writers (``BEGIN IMMEDIATE``), and on PostgreSQL the
writers of ``predictions`` and ``label_changes`` take a transaction-scoped advisory lock
before drawing sequence numbers, so on both numbers are handed out in commit order.

Every transaction goes through :meth:`SQLStore.transaction`, which commits or rolls back and
turns database errors into the store's exceptions. Only domain objects leave this module.
"""

from __future__ import annotations

from seismo.store.sql.access import Access
from seismo.store.sql.alerts import Alerts
from seismo.store.sql.engine import SQLBase, create_store_engine, shown_url, upgrade_command
from seismo.store.sql.labels import Labels
from seismo.store.sql.models import ModelVersions
from seismo.store.sql.predictions import Predictions
from seismo.store.sql.tables import COLUMNAR_MIN_ROWS, metadata
from seismo.store.sql.windows import Windows

__all__ = [
    "COLUMNAR_MIN_ROWS",
    "SQLStore",
    "create_store_engine",
    "metadata",
    "shown_url",
    "upgrade_command",
]


class SQLStore(ModelVersions, Predictions, Labels, Windows, Alerts, Access, SQLBase):
    """The store on SQLite or PostgreSQL through SQLAlchemy (see :class:`SQLBase` for the
    parameters): every method of :class:`~seismo.store.base.Store`, one client per module."""
