"""The web UI's records: window digests (a small JSON summary beside each window's payload —
per-feature drift, metrics, counts — that pages over many windows read instead of the
payloads) and UI sessions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing windows get no digest: the service computes it from the payload when a page
    # first reads the window, and stores it.
    with op.batch_alter_table("window_summaries") as batch:
        batch.add_column(sa.Column("digest", sa.Text(), nullable=True))
    op.create_table(
        "ui_sessions",
        sa.Column("id_hash", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=True),
        sa.Column("csrf", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_ui_sessions"),
    )
    op.create_index("ix_ui_sessions_expires_at", "ui_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_ui_sessions_expires_at", table_name="ui_sessions")
    op.drop_table("ui_sessions")
    with op.batch_alter_table("window_summaries") as batch:
        batch.drop_column("digest")
