"""API tokens, leases, monitor errors, and prediction ids unique per model (not across models).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 00:00:00

The unique key changes through :func:`seismo.store.migrations.rebuild.change_prediction_unique`
(a table rebuild on SQLite that keeps the label change log and the sequence counter).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from seismo.store.migrations.rebuild import change_prediction_unique

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("revoked_at", _Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "monitor_errors",
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("window_start", _Timestamp, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("model", "version", "window_start", name="pk_monitor_errors"),
    )
    change_prediction_unique(
        ("uq_predictions_id", ("id",)), ("uq_predictions_model_id", ("model", "id"))
    )


def downgrade() -> None:
    # Fails (as it should) when two models share a prediction id.
    change_prediction_unique(
        ("uq_predictions_model_id", ("model", "id")), ("uq_predictions_id", ("id",))
    )
    op.drop_table("monitor_errors")
    op.drop_table("leases")
    op.drop_table("api_tokens")
