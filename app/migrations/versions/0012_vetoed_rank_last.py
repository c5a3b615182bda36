"""vetoed units rank last

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

A scheme setting: units whose veto fails the period rank after all the others. New versions
take it (the model's default); every version that exists when this runs keeps the earlier rule
(ranked by total, false here), so that recomputing or correcting a round published on one of them
never re-ranks it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vetoed_rank_last", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.drop_column("vetoed_rank_last")
