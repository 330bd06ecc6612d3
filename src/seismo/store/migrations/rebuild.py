"""Changing the unique key of ``predictions``, shared by the revisions that do it.

On SQLite a unique constraint can only be changed by rebuilding the table. The rebuild drops
the old ``predictions`` table, and with foreign keys on (they are, in a transaction where the
pragma cannot change) that deletes the label change log through ON DELETE CASCADE: the log is
kept aside and put back. The rebuilt table also keeps AUTOINCREMENT and the sequence counter,
so no ``seq`` is ever reused (the monitor's watermarks rely on that).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Timestamp = sa.DateTime(timezone=True)
_STORED_ONCE = (
    "(batch_seq IS NULL AND batch_row IS NULL AND features IS NOT NULL AND output IS NOT NULL)"
    " OR (batch_seq IS NOT NULL AND batch_row IS NOT NULL AND features IS NULL"
    " AND output IS NULL AND score IS NULL)"
)


def _predictions(unique: tuple[str, ...], name: str) -> sa.Table:
    """The predictions table as 0001 made it, with the given unique key (SQLite rebuild)."""
    return sa.Table(
        "predictions",
        sa.MetaData(),
        sa.Column("seq", _Seq, sa.Identity(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("timestamp", _Timestamp, nullable=False),
        sa.Column("batch_seq", _Seq, nullable=True),
        sa.Column("batch_row", sa.Integer(), nullable=True),
        sa.Column("features", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("score", sa.Text(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("labelled_at", _Timestamp, nullable=True),
        sa.CheckConstraint(_STORED_ONCE, name="ck_predictions_stored_once"),
        sa.ForeignKeyConstraint(
            ["batch_seq"],
            ["prediction_batches.seq"],
            name="fk_predictions_batch_seq_prediction_batches",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_predictions"),
        sa.UniqueConstraint(*unique, name=name),
        sa.Index("ix_predictions_model_seq", "model", "seq"),
        sa.Index(
            "ix_predictions_model_version_timestamp_batch_seq_batch_row",
            "model",
            "version",
            "timestamp",
            "batch_seq",
            "batch_row",
        ),
        sa.Index("ix_predictions_batch_seq", "batch_seq"),
        sqlite_autoincrement=True,
    )


def change_prediction_unique(
    old: tuple[str, tuple[str, ...]], new: tuple[str, tuple[str, ...]]
) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(old[0], "predictions", type_="unique")
        op.create_unique_constraint(new[0], "predictions", list(new[1]))
        return
    # Plain SQL statements (op.execute), so the offline script (--sql) does the same.
    op.execute(
        "CREATE TEMP TABLE seismo_kept_sequence AS "
        "SELECT seq FROM sqlite_sequence WHERE name = 'predictions'"
    )
    op.execute("CREATE TEMP TABLE seismo_kept_label_changes AS SELECT * FROM label_changes")
    with op.batch_alter_table(
        "predictions",
        copy_from=_predictions(old[1], old[0]),
        recreate="always",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.drop_constraint(old[0], type_="unique")
        batch.create_unique_constraint(new[0], list(new[1]))
    op.execute("DELETE FROM label_changes")
    op.execute("INSERT INTO label_changes SELECT * FROM seismo_kept_label_changes")
    op.execute(
        "UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM seismo_kept_sequence)) "
        "WHERE name = 'predictions'"
    )
    op.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'predictions', seq "
        "FROM seismo_kept_sequence "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'predictions')"
    )
    op.execute("DROP TABLE seismo_kept_label_changes")
    op.execute("DROP TABLE seismo_kept_sequence")
