"""Alerts, their history, and silences.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("segment", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("started_at", _Timestamp, nullable=False),
        sa.Column("updated_at", _Timestamp, nullable=False),
        sa.Column("alert", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", _Timestamp, nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("notified_at", _Timestamp, nullable=True),
        sa.Column("notified_severity", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_state_updated_at", "alerts", ["state", "updated_at"])
    op.create_index("ix_alerts_model_updated_at", "alerts", ["model", "updated_at"])
    op.create_table(
        "alert_events",
        sa.Column("seq", _Seq, sa.Identity(), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", _Timestamp, nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_events_alert_id_alerts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_alert_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_events_alert_id_seq", "alert_events", ["alert_id", "seq"])
    op.create_index("ix_alert_events_kind", "alert_events", ["kind"])
    op.create_table(
        "silences",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_at", _Timestamp, nullable=False),
        sa.Column("ends_at", _Timestamp, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_silences_ends_at", table_name="silences")
    op.drop_table("silences")
    op.drop_index("ix_alert_events_kind", table_name="alert_events")
    op.drop_index("ix_alert_events_alert_id_seq", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alerts_model_updated_at", table_name="alerts")
    op.drop_index("ix_alerts_state_updated_at", table_name="alerts")
    op.drop_table("alerts")
