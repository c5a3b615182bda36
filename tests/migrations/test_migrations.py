"""Migrations upgrade a database that already holds data, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, inspect, text

from app.migrations import upgrade

pytestmark = pytest.mark.db

PG_URL = os.environ.get("TEST_DATABASE_URL")


def test_upgrade_from_0001_keeps_data_and_locks_used_schemes(empty_database: str) -> None:
    upgrade(empty_database, "0001")
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO districts (id, code, name, sort_order) VALUES (1, 'gusu', '姑苏区', 0)")
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, role, password_hash, active, failed_logins,"
                " must_change_password, created_at, session_generation)"
                " VALUES (1, 'admin', '管理员', 'admin', 'x', true, 0, false, CURRENT_TIMESTAMP, 0)"
            )
        )
        for scheme_id, label in ((1, "2026版"), (2, "2027版")):
            conn.execute(
                text(
                    "INSERT INTO schemes (id, year, label, name, total_points, status, created_at)"
                    " VALUES (:id, 2026, :label, '细则', '75', 'active', CURRENT_TIMESTAMP)"
                ),
                {"id": scheme_id, "label": label},
            )
        conn.execute(
            text(
                "INSERT INTO indicators (id, scheme_id, code, name, max_points, kind, method, source,"
                " frequency, department, sort_order)"
                " VALUES (1, 1, 'ZF', '执法实效', '50', 'scored', '扣完为止', '', '', '', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO process_definitions (id, key, version, name, xml, created_at)"
                " VALUES (1, 'district_assessment', 'v1', '区级考核流程', :xml, CURRENT_TIMESTAMP)"
            ),
            {"xml": b"<bpmn/>"},
        )
        conn.execute(
            text(
                "INSERT INTO rounds (id, title, period, scheme_id, status, deadline_rules,"
                " district_definition_id, round_definition_id, districts_total, districts_done, issued_by,"
                " issued_at)"
                " VALUES (1, '2026年11月', '2026-11', 1, 'running', '{}', 1, 1, 1, 0, 1, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO district_assessments (id, round_id, district_id, stage, self_overdue,"
                " verification_escalated, appealed) VALUES (1, 1, 1, 'confirmation', false, false, true)"
            )
        )
        entries = [(1, "self", "1.0", "自查"), (2, "verify", "2.0", "核查发现"), (3, "self", "0", "")]
        for entry_id, stage, amount, reason in entries:
            conn.execute(
                text(
                    "INSERT INTO score_entries (id, assessment_id, indicator_id, stage, method, amount,"
                    " reason, is_draft, recorded_by, recorded_at)"
                    " VALUES (:id, 1, 1, :stage, 'manual', :amount, :reason, false, 1, CURRENT_TIMESTAMP)"
                ),
                {"id": entry_id, "stage": stage, "amount": amount, "reason": reason},
            )
        conn.execute(
            text(
                "INSERT INTO appeals (id, assessment_id, adjustment_id, reason, submitted_by, submitted_at,"
                " decision, decision_reason) VALUES (1, 1, 2, '已整改', 1, CURRENT_TIMESTAMP, 'pending', '')"
            )
        )
    upgrade(empty_database)
    with engine.connect() as conn:
        facts = conn.execute(text("SELECT stage, kind, amount FROM score_facts ORDER BY stage")).all()
        revisions = dict(conn.execute(text("SELECT stage, id FROM indicator_revisions")).all())
        appeal_revision = conn.execute(text("SELECT revision_id FROM appeals")).scalar()
        schemes = dict(conn.execute(text("SELECT id, locked_at IS NOT NULL FROM schemes ORDER BY id")).all())
        indicator = conn.execute(text("SELECT criteria, assessed_in_system, rules FROM indicators")).one()
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert schemes == {1: True, 2: False}  # only the scheme a round used is frozen
    # Manual entries became manual facts carrying the points lost up to each stage; the appeal now
    # points at the verification revision of the same indicator.
    assert [(stage, kind, str(amount)) for stage, kind, amount in facts] == [
        ("self", "manual", "1.0"),
        ("verify", "manual", "3.0"),
    ]
    assert appeal_revision == revisions["verify"]
    assert indicator[0] == "扣完为止"  # method → criteria
    assert bool(indicator[1])
    assert indicator[2] is None
    assert version is not None
    assert version != "0001"


def test_export_tokens_on_personal_accounts_move_to_an_integration_account(empty_database: str) -> None:
    upgrade(empty_database, "0010")
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        ids = {}
        for username, role in (("admin", "admin"), ("leader", "leader")):
            conn.execute(
                text(
                    "INSERT INTO users (username, display_name, role, email, mobile, password_hash,"
                    " active, failed_logins, must_change_password, created_at, session_generation)"
                    " VALUES (:name, :name, :role, '', '', 'x', true, 3, false, CURRENT_TIMESTAMP, 4)"
                ),
                {"name": username, "role": role},
            )
            ids[username] = conn.execute(
                text("SELECT id FROM users WHERE username = :name"), {"name": username}
            ).scalar()
        for token_id, owner, scopes in (
            (1, "admin", "export"),
            (2, "leader", "tasks rounds"),
            (3, "leader", "export rounds"),
        ):
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, scopes, created_at)"
                    " VALUES (:id, :user, '综合考核', 'szcg_x', :hash, :scopes, CURRENT_TIMESTAMP)"
                ),
                {"id": token_id, "user": ids[owner], "hash": f"{token_id:064d}", "scopes": scopes},
            )
    upgrade(empty_database)
    with engine.connect() as conn:
        tokens = conn.execute(
            text(
                "SELECT t.id, u.username, u.role, u.password_hash, t.scopes"
                " FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"
            )
        ).all()
        columns = {c["name"] for c in inspect(conn).get_columns("users")}
    engine.dispose()
    # The token values stay (the 综合考核 system keeps working), now held by an 接口账号 that no
    # person's password change touches; the personal token stays where it was.
    assert [tuple(t) for t in tokens] == [
        (1, "zhkh_export", "integration", "!", "export"),
        (2, "leader", "leader", "x", "tasks rounds"),
        (3, "zhkh_export", "integration", "!", "export"),
    ]
    assert not {"failed_logins", "locked_until", "session_generation"} & columns


def test_the_migrations_build_exactly_the_models_tables(empty_database: str) -> None:
    """A hand-written migration that drifts from the models would only show on a fresh install."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.models import Base

    upgrade(empty_database)
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert differences == []
