"""Initial schema: model versions, predictions (rows and columnar batches), label change log,
window summaries, watermarks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Migrations are frozen history: they spell out their types instead of importing the models.
_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Timestamp = sa.DateTime(timezone=True)
# A row's features, output and score live either in its own JSON columns or in a batch.
_STORED_ONCE = (
    "(batch_seq IS NULL AND batch_row IS NULL AND features IS NOT NULL AND output IS NOT NULL)"
    " OR (batch_seq IS NOT NULL AND batch_row IS NOT NULL AND features IS NULL"
    " AND output IS NULL AND score IS NULL)"
)


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("reference", sa.LargeBinary(), nullable=False),
        sa.Column("artifact", sa.String(), nullable=True),
        sa.Column("classes", sa.Text(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("model", "version", name="pk_model_versions"),
    )
    op.create_table(
        "prediction_batches",
        sa.Column("seq", _Seq, sa.Identity(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_prediction_batches"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "predictions",
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
        sa.UniqueConstraint("id", name="uq_predictions_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_predictions_model_seq", "predictions", ["model", "seq"])
    op.create_index(
        "ix_predictions_model_version_timestamp_batch_seq_batch_row",
        "predictions",
        ["model", "version", "timestamp", "batch_seq", "batch_row"],
    )
    op.create_index("ix_predictions_batch_seq", "predictions", ["batch_seq"])
    op.create_table(
        "label_changes",
        sa.Column("seq", _Seq, sa.Identity(), nullable=False),
        sa.Column("prediction_seq", _Seq, nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("received_at", _Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["prediction_seq"],
            ["predictions.seq"],
            name="fk_label_changes_prediction_seq_predictions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_label_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_label_changes_model_seq", "label_changes", ["model", "seq"])
    op.create_index("ix_label_changes_prediction_seq", "label_changes", ["prediction_seq"])
    op.create_table(
        "window_summaries",
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("window_start", _Timestamp, nullable=False),
        sa.Column("window_end", _Timestamp, nullable=False),
        sa.Column("segment", sa.String(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint(
            "model",
            "version",
            "window_start",
            "window_end",
            "segment",
            name="pk_window_summaries",
        ),
    )
    op.create_index(
        "ix_window_summaries_model_window_start", "window_summaries", ["model", "window_start"]
    )
    op.create_table(
        "watermarks",
        sa.Column("job", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("job", "model", name="pk_watermarks"),
    )


def downgrade() -> None:
    op.drop_table("watermarks")
    op.drop_index("ix_window_summaries_model_window_start", table_name="window_summaries")
    op.drop_table("window_summaries")
    op.drop_index("ix_label_changes_prediction_seq", table_name="label_changes")
    op.drop_index("ix_label_changes_model_seq", table_name="label_changes")
    op.drop_table("label_changes")
    op.drop_index("ix_predictions_batch_seq", table_name="predictions")
    op.drop_index(
        "ix_predictions_model_version_timestamp_batch_seq_batch_row", table_name="predictions"
    )
    op.drop_index("ix_predictions_model_seq", table_name="predictions")
    op.drop_table("predictions")
    op.drop_table("prediction_batches")
    op.drop_table("model_versions")
