"""Window digests: a small JSON summary beside each window's payload (per-feature drift,
metrics, counts) that pages over many windows read instead of the payloads.

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


def downgrade() -> None:
    with op.batch_alter_table("window_summaries") as batch:
        batch.drop_column("digest")
