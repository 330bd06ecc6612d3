"""The closed loop's records: version lineage and status, rollouts, decisions; prediction ids
unique per model version (a champion and its shadow log the same request id).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from seismo.store.migrations.rebuild import change_prediction_unique

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("parent_version", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(), nullable=False, server_default="registered")
        )
        batch.add_column(sa.Column("lineage", sa.Text(), nullable=False, server_default="{}"))
    op.create_table(
        "rollouts",
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("champion", sa.Integer(), nullable=False),
        sa.Column("challenger", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(), nullable=True),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("started_at", _Timestamp, nullable=True),
        sa.Column("updated_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("model", name="pk_rollouts"),
    )
    op.create_table(
        "decisions",
        sa.Column("seq", _Seq, sa.Identity(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("at", _Timestamp, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_decisions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_decisions_model_seq", "decisions", ["model", "seq"])
    change_prediction_unique(
        ("uq_predictions_model_id", ("model", "id")),
        ("uq_predictions_model_version_id", ("model", "version", "id")),
    )


def downgrade() -> None:
    # Fails (as it should) when two versions of a model share a prediction id.
    change_prediction_unique(
        ("uq_predictions_model_version_id", ("model", "version", "id")),
        ("uq_predictions_model_id", ("model", "id")),
    )
    op.drop_index("ix_decisions_model_seq", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("rollouts")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("lineage")
        batch.drop_column("status")
        batch.drop_column("parent_version")
