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
    # first reads the window, and stores it. A table of its own: in SQLite a column after a
    # window's large payload is reached only through the payload's overflow pages.
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "window_digests",
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("window_start", timestamp, nullable=False),
        sa.Column("window_end", timestamp, nullable=False),
        sa.Column("segment", sa.String(), nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "model", "version", "window_start", "window_end", "segment", name="pk_window_digests"
        ),
    )
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
    op.drop_table("window_digests")
