"""Migration 0012: versions that exist keep ranking vetoed units by total; new ones rank them last."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.migrations import upgrade
from app.schemes.models import Scheme

pytestmark = pytest.mark.db

PG_URL = os.environ.get("TEST_DATABASE_URL")


def test_existing_versions_keep_the_earlier_rule_and_new_ones_take_the_setting(empty_database: str) -> None:
    upgrade(empty_database, "0011")
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        for label in ("2026版", "2027版"):  # used by rounds or not: the same
            conn.execute(
                text(
                    "INSERT INTO schemes (year, label, name, total_points, status, created_at,"
                    " rounding_places, rounding_mode, annual_rule)"
                    " VALUES (2026, :label, '细则', '75', 'active', CURRENT_TIMESTAMP,"
                    " 2, 'half_up', 'mean_scaled')"
                ),
                {"label": label},
            )
    upgrade(empty_database)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT label, vetoed_rank_last FROM schemes ORDER BY label")).all()
    engine.dispose()
    assert [(label, bool(v)) for label, v in rows] == [("2026版", False), ("2027版", False)]

    # A version created afterwards (create_scheme, clone, import all build a Scheme) ranks them last.
    engine = create_engine(empty_database)
    with Session(engine) as session:
        session.add(Scheme(year=2028, label="2028版", name="细则"))
        session.commit()
        created = session.scalar(text("SELECT vetoed_rank_last FROM schemes WHERE label = '2028版'"))
    engine.dispose()
    assert bool(created) is True
