"""a number of its own for every document; letters and decisions rendered in the background

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

- ``document_counters`` (代字, year) replaces ``document_sequences`` (year): serials run per 代字,
  and the year's counter carries over to the 代字 it was used with, 苏城管考.
- ``numbering_rules``: the bureau's 代字 and format per kind of document (defaults in code).
- ``notices.prefix`` and a unique (prefix, year, serial): every document issued from now on has a
  serial of its own. Documents already issued keep their numbers; the numbered ones get the 代字
  they were numbered under, letters that carried their circular's number keep no serial.
- ``notice_jobs.appeal_deadline``: a 核查结果告知书 generated in the background prints the appeal
  deadline computed at release.
- ``rounds.notice_year`` / ``notice_serial`` go: a round no longer has one number for all its
  documents (the circular's own number is on its notice row).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflows.store

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_PREFIX = "苏城管考"


def upgrade() -> None:
    op.create_table(
        "document_counters",
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year"),
    )
    op.execute(
        sa.text(
            "INSERT INTO document_counters (prefix, year, last_serial) "
            "SELECT :prefix, year, last_serial FROM document_sequences"
        ).bindparams(prefix=OLD_PREFIX)
    )
    op.drop_table("document_sequences")
    op.create_table(
        "numbering_rules",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("pattern", sa.String(length=40), nullable=False),
        sa.Column("updated_at", workflows.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prefix", sa.String(length=20), nullable=True))
    op.execute(
        sa.text("UPDATE notices SET prefix = :prefix WHERE serial IS NOT NULL").bindparams(prefix=OLD_PREFIX)
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_notices_number", ["prefix", "year", "serial"])
    with op.batch_alter_table("notice_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("appeal_deadline", sa.String(length=40), nullable=False, server_default="")
        )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("notice_serial")
        batch_op.drop_column("notice_year")


def downgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("notice_serial", sa.Integer(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE rounds SET notice_year = (SELECT n.year FROM notices n WHERE n.round_id = rounds.id "
            "AND n.kind = 'circular' ORDER BY n.id LIMIT 1), notice_serial = (SELECT n.serial FROM notices n "
            "WHERE n.round_id = rounds.id AND n.kind = 'circular' ORDER BY n.id LIMIT 1)"
        )
    )
    with op.batch_alter_table("notice_jobs", schema=None) as batch_op:
        batch_op.drop_column("appeal_deadline")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notices_number", type_="unique")
        batch_op.drop_column("prefix")
    op.drop_table("numbering_rules")
    op.create_table(
        "document_sequences",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    # The old table had one sequence per year: keep the highest serial of any 代字.
    op.execute(
        "INSERT INTO document_sequences (year, last_serial) "
        "SELECT year, MAX(last_serial) FROM document_counters GROUP BY year"
    )
    op.drop_table("document_counters")
