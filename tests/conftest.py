"""Fixtures: an app on a migrated database (SQLite copy per test, or PostgreSQL via TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from app import create_app
from app.db import db
from app.demo import seed_demo
from app.migrations import upgrade
from app.models import Base
from tests.csrf_client import CSRF_META as CSRF_META  # re-exported for older imports
from tests.csrf_client import Browser
from tests.ownership import watching

PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _one_owner_per_table() -> Iterator[None]:
    """Every write during the test comes from the area that owns the table (tests/ownership.py)."""
    with watching() as watch:
        yield
    if os.environ.get("OWNERSHIP_REPORT"):
        with open(os.environ["OWNERSHIP_REPORT"], "a", encoding="utf-8") as out:
            out.writelines(v + "\n" for v in watch.violations)
        return
    assert not watch.violations, "writes outside the owning area:\n" + "\n".join(
        sorted(set(watch.violations))
    )


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 with minimal cost in tests: production parameters spend ~85 ms per hash and per
    check, about a second for every demo seeding and most of many tests' time. What the tests
    check (who may sign in, with which password) does not depend on the cost."""
    from argon2 import PasswordHasher

    from app.accounts import passwords

    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = production


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the Alembic migrations once: into a template SQLite file, or into the PostgreSQL database."""
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return str(path)


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if PG_URL:
        _truncate_all(PG_URL)
        return PG_URL
    copy = tmp_path / "test.sqlite"
    shutil.copy(migrated_template, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {
            "DATABASE_URL": database_url,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "NOTICE_DIR": str(tmp_path / "notices"),
            "TESTING": True,
            "SCHEDULER_ENABLED": False,
            "SECRET_KEY": "test-secret",
        }
    )
    yield application
    db.Session.remove()
    assert db.engine is not None
    db.engine.dispose()


@pytest.fixture
def demo(app: Flask) -> None:
    """Districts, accounts and the 2026 scheme, without a round."""
    with app.app_context(), db.transaction() as session:
        seed_demo(session, with_round=False)


@pytest.fixture
def client_as(app: Flask) -> Any:
    def make(username: str | None = None) -> Browser:
        b = Browser(app.test_client())
        if username:
            response = b.login(username)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return b

    return make
