"""sign-ins, rate limits, sign-in failures, integration accounts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Browser sign-ins become server-side records (the cookie names one), so the per-user
session_generation goes; throttling moves from a per-user counter (failed_logins, locked_until)
to per account-and-address counters in rate_limits. Tokens with the 综合考核 export scope that
were issued on personal accounts move to an 接口账号, so a person's password change no longer
cuts the integration off.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflows.store

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INTEGRATION_USERNAME = "zhkh_export"


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_started_at", workflows.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", workflows.store.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bucket", "key", name=op.f("pk_rate_limits")),
    )
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("started_at", workflows.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", workflows.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", workflows.store.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sign_ins_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_sign_ins_key_hash")),
    )
    op.create_index("ix_sign_ins_user", "sign_ins", ["user_id", "ended_at"], unique=False)
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", workflows.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sign_in_failures_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_at", "sign_in_failures", ["at"], unique=False)
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("revoke_reason", sa.String(length=40), nullable=False, server_default=""))
    with op.batch_alter_table("users") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")
        batch.drop_column("session_generation")
    _move_export_tokens()


def _move_export_tokens() -> None:
    conn = op.get_bind()
    tokens = conn.execute(
        sa.text(
            "SELECT t.id, t.scopes FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE u.role <> 'integration' AND t.revoked_at IS NULL"
        )
    ).all()
    export_ids = [token_id for token_id, scopes in tokens if "export" in (scopes or "").split()]
    if not export_ids:
        return
    account = conn.execute(
        sa.text("SELECT id FROM users WHERE username = :name"), {"name": INTEGRATION_USERNAME}
    ).scalar()
    if account is None:
        conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, role, email, mobile, password_hash, active,"
                " must_change_password, created_at)"
                " VALUES (:name, '综合考核接口', 'integration', '', '', '!', :yes, :no, CURRENT_TIMESTAMP)"
            ),
            {"name": INTEGRATION_USERNAME, "yes": True, "no": False},
        )
        account = conn.execute(
            sa.text("SELECT id FROM users WHERE username = :name"), {"name": INTEGRATION_USERNAME}
        ).scalar()
    # The token keeps its value (the 综合考核 system need not be reconfigured) but only the export
    # scope: the person's tasks and rounds are not the integration's to read.
    conn.execute(
        sa.text("UPDATE api_tokens SET user_id = :account, scopes = 'export' WHERE id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        ),
        {"account": account, "ids": export_ids},
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", workflows.store.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoke_reason")
    op.drop_index("ix_sign_in_failures_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index("ix_sign_ins_user", table_name="sign_ins")
    op.drop_table("sign_ins")
    op.drop_table("rate_limits")
