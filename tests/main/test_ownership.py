"""The ownership check itself: a write from another area's code is caught, the owner's is not.
(If the listeners stopped firing, every other test would pass without checking anything.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import db
from app.schemes.models import Scheme
from app.schemes.operations import freeze_version
from tests.ownership import ROOT, watching

pytestmark = pytest.mark.db


def as_if_in(path: str, source: str, **names: object) -> None:
    """Run *source* as code of the application file *path* (its frames carry that file name)."""
    exec(compile(source, str(ROOT / path), "exec"), dict(names))  # noqa: S102 - test-only code


def test_a_write_from_another_area_is_caught_and_the_owners_is_not(app, demo) -> None:
    with db.transaction() as session:
        scheme = session.scalar(select(Scheme))
        with watching() as watch:
            freeze_version(scheme)  # the schemes area writing its own table
        assert watch.violations == []
        with watching() as watch:
            as_if_in("app/rounds/issuing.py", "scheme.name = '改名'", scheme=scheme)
            as_if_in(
                "app/rounds/issuing.py",
                "session.add(Scheme(year=2030, label='x', name='y'))",
                session=session,
                Scheme=Scheme,
            )
            as_if_in(
                "app/scheduler_like.py",
                "session.execute(update(Scheme).values(name='z'))",
                session=session,
                update=__import__("sqlalchemy").update,
                Scheme=Scheme,
            )
        session.rollback()
    found = "\n".join(watch.violations)
    assert "app/rounds/issuing.py:1 (rounds) sets a column of schemes, owned by schemes" in found
    assert "app/rounds/issuing.py:1 (rounds) adds a row to schemes, owned by schemes" in found
    assert "app/scheduler_like.py:1 (app/scheduler_like.py) updates schemes, owned by schemes" in found
