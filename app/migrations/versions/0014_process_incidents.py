"""incidents: scheduler firings whose script or service task failed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

- ``process_incidents``: one row per failing firing of an instance (process, task, the error in
  Chinese and its technical text, attempts, first/last failure, the next retry with back-off,
  waiting for an administrator, resolved). Written by the scheduler (workflows/incidents.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflows.store

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("element", sa.String(length=100), nullable=False),
        sa.Column("element_name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_failed_at", workflows.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", workflows.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_retry_at", workflows.store.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notified_at", workflows.store.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retried_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", workflows.store.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instances.id"],
            name=op.f("fk_process_incidents_instance_id_process_instances"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_incidents")),
    )
    with op.batch_alter_table("process_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_process_incidents_instance", ["instance_id"], unique=False)
        batch_op.create_index("ix_process_incidents_open", ["status", "instance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_process_incidents_open")
        batch_op.drop_index("ix_process_incidents_instance")
    op.drop_table("process_incidents")
