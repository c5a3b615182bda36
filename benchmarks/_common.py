"""Shared set-up for the benchmarks: a real app on a fresh, migrated SQLite file.

The app is built with ``create_app`` so the database engine is exactly the one
``app.db.make_engine`` makes in production (WAL, foreign keys, busy timeout,
synchronous=NORMAL). Nothing here is timed.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app import create_app
from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.db import db
from app.districts.models import District
from app.migrations import upgrade
from tests.csrf_client import Browser

PASSWORD = "Bench#2026pass"
DEADLINES = {
    "self_report": {"kind": "days", "days": 7},
    "verification": {"kind": "days", "days": 7},
    "appeal": {"kind": "days", "days": 3},
    "review": {"kind": "days", "days": 5},
}
_HASH: str | None = None


def password_hash() -> str:
    """One Argon2 hash shared by every benchmark account (hashing is slow on purpose)."""
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


@contextmanager
def bench_app() -> Iterator[tuple[Flask, Path]]:
    """A production-configured app (TESTING off, CSRF on) on a fresh migrated SQLite file."""
    with tempfile.TemporaryDirectory(prefix="szcg-bench-") as tmp:
        tmp_path = Path(tmp)
        url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
        upgrade(url)
        app = create_app(
            {
                "DATABASE_URL": url,
                "UPLOAD_DIR": str(tmp_path / "uploads"),
                "NOTICE_DIR": str(tmp_path / "notices"),
                "TESTING": False,
                "SCHEDULER_ENABLED": False,
                "SECRET_KEY": "benchmark-secret",
            }
        )
        # create_app configures INFO logging; migrations and per-request logs would drown the table.
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        try:
            yield app, tmp_path
        finally:
            db.Session.remove()
            if db.engine is not None:
                db.engine.dispose()


def add_districts(session: Session, count: int) -> list[int]:
    """Districts d001..dNNN in one core insert; returns their ids in code order."""
    session.execute(
        insert(District),
        [{"code": f"d{n:03d}", "name": f"测试区{n:03d}", "sort_order": n} for n in range(1, count + 1)],
    )
    return list(session.scalars(select(District.id).order_by(District.sort_order)))


def add_user(session: Session, username: str, role: str, district_id: int | None = None) -> User:
    user = User(
        username=username,
        display_name=username,
        role=role,
        district_id=district_id,
        password_hash=password_hash(),
    )
    session.add(user)
    session.flush()
    return user


def logged_in(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    response = browser.login(username, PASSWORD)
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: {response.status_code}")
    return browser


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    # nearest-rank percentile
    rank = max(1, -(-95 * len(ordered) // 100))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"
