"""One owner per table, checked while the suite runs.

The rule (docs/architecture.md, "Who writes what"): a table is written only by code of the area
that defines it — `app/<area>/…` for `app/<area>/models.py`, `workflows/…` for the engine's tables
in `workflows/store.py`. Another area changes it by calling that area's function.

A static scan misses attribute writes (`assessment.stage = …` anywhere), so the suite listens to
the ORM instead: every attribute set on a mapped object, every `session.add`/`session.delete`, and
every UPDATE/INSERT/DELETE statement is traced back to the innermost application frame on the
stack, and its area must be the table's. Frames of the tests themselves, of `app/db.py` (the
session plumbing) and of the demo seeding are not callers that count.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, ORMExecuteState, Session

from app.db import Base

ROOT = Path(__file__).resolve().parents[1]
# Code that is not an area's: the session plumbing, and demo data for a fresh install.
NOT_CALLERS = {"app/db.py", "app/demo.py"}


def area_of_module(module: str) -> str:
    """app.rounds.models → rounds; workflows.store → workflows."""
    parts = module.split(".")
    if parts[0] == "workflows":
        return "workflows"
    return parts[1] if len(parts) > 2 else parts[0] + "." + parts[1]


def table_areas() -> dict[str, str]:
    return {
        mapper.local_table.name: area_of_module(mapper.class_.__module__) for mapper in Base.registry.mappers
    }


def _caller_area() -> tuple[str, str] | None:
    """(area, "file:line") of the innermost application frame, or None if the write comes from a
    test or a fixture directly."""
    frame = sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(str(ROOT)) and path != __file__:
            relative = Path(path).relative_to(ROOT).as_posix()
            if relative.startswith("tests/"):
                return None
            if relative not in NOT_CALLERS and relative.startswith(("app/", "workflows/")):
                parts = relative.removesuffix(".py").split("/")
                area = "workflows" if parts[0] == "workflows" else (parts[1] if len(parts) > 2 else relative)
                return area, f"{relative}:{frame.f_lineno}"
        frame = frame.f_back
    return None


# Watches may nest (the check's own test watches inside the suite's): only the innermost records.
_active: list[OwnershipWatch] = []


class OwnershipWatch:
    def __init__(self) -> None:
        self.tables = table_areas()
        self.violations: list[str] = []

    def check(self, table: str, how: str) -> None:
        if not _active or _active[-1] is not self:
            return
        owner = self.tables.get(table)
        caller = _caller_area()
        if owner is None or caller is None:
            return
        area, where = caller
        if area != owner:
            self.violations.append(f"{where} ({area}) {how} {table}, owned by {owner}")

    # ---- listeners
    def on_set(self, target: Any, _value: Any, _old: Any, _initiator: Any) -> None:
        self.check(inspect(target).mapper.local_table.name, "sets a column of")

    def on_pending(self, _session: Session, instance: Any) -> None:
        self.check(inspect(instance).mapper.local_table.name, "adds a row to")

    def on_execute(self, state: ORMExecuteState) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            table = getattr(state.statement, "table", None)
            name = getattr(table, "name", None)
            if name:
                verb = "updates" if state.is_update else "deletes from" if state.is_delete else "inserts into"
                self.check(name, verb)


@contextmanager
def watching() -> Iterator[OwnershipWatch]:
    watch = OwnershipWatch()
    attributes = []
    for mapper in Base.registry.mappers:
        for prop in _column_attributes(mapper):
            attributes.append(prop)
            event.listen(prop, "set", watch.on_set)
    event.listen(Session, "transient_to_pending", watch.on_pending)
    event.listen(Session, "do_orm_execute", watch.on_execute)
    original_delete = Session.delete

    def delete(session: Session, instance: Any) -> None:
        watch.check(inspect(instance).mapper.local_table.name, "deletes a row of")
        original_delete(session, instance)

    Session.delete = delete  # type: ignore[method-assign]
    _active.append(watch)
    try:
        yield watch
    finally:
        _active.remove(watch)
        Session.delete = original_delete  # type: ignore[method-assign]
        event.remove(Session, "do_orm_execute", watch.on_execute)
        event.remove(Session, "transient_to_pending", watch.on_pending)
        for prop in attributes:
            event.remove(prop, "set", watch.on_set)


def _column_attributes(mapper: Mapper[Any]) -> list[Any]:
    return [getattr(mapper.class_, attr.key) for attr in mapper.column_attrs]
