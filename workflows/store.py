"""Tables of the engine layer: process definitions and persisted instances.

The declarative base lives here so the engine needs nothing from the web app;
the application's models share its metadata (one Alembic history).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    select,
)
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from workflows import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use workflows.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE run with ``Session.execute`` matched.

    ``Session.execute`` is typed to return a plain ``Result`` whatever the statement; for DML it is
    a ``CursorResult``, which alone has ``rowcount``.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"rowcount needs an UPDATE's or DELETE's CursorResult, not {type(result).__name__}")
    return result.rowcount


class ProcessDefinitionRecord(Base):
    """A BPMN document as it was when a round started on it; never changed afterwards."""

    __tablename__ = "process_definitions"
    __table_args__ = (Index("ix_process_definitions_key_version", "key", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class ProcessInstance(Base):
    """One running process (a district's assessment or a round's coordination)."""

    __tablename__ = "process_instances"
    __table_args__ = (Index("ix_process_instances_next_timer_at", "next_timer_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_key: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(Text)
    # Optimistic lock: a save whose version moved underneath fails, so a task is never applied twice.
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="running")
    next_timer_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


def lock_instance(session: Session, instance_id: int | ColumnElement[int]) -> ProcessInstance | None:
    """Row-lock the instance for the rest of the transaction (a no-op on SQLite, whose writes are
    serialised anyway) and return it, read whole and replacing any copy the session held."""
    return session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


class TimerChange(Base):
    """A note that an instance's earliest timer moved, written in the transaction that moved it.

    APScheduler 3 never looks at what other processes write, so the process holding the
    scheduler lease reads these rows (every half second), re-reads each instance's
    ``next_timer_at`` and reschedules its job; then it deletes the rows it read.
    """

    __tablename__ = "timer_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class SchedulerLease(Base):
    """Who runs the scheduler: one row per lease name, held until ``expires_at`` unless renewed."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=clock.now)
    renewed_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(default=clock.now)


class SchedulerRun(Base):
    """One run of a scheduled job: a deadline fired (in the firing's own transaction), or a
    periodic job's outcome. The administrator's jobs page and the benchmark read these."""

    __tablename__ = "scheduler_runs"
    __table_args__ = (
        Index("ix_scheduler_runs_started", "started_at"),
        Index("ix_scheduler_runs_outcome", "outcome", "id"),
        Index("ix_scheduler_runs_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    holder: Mapped[str] = mapped_column(String(200), default="")


class SchedulerJob(Base):
    """A periodic job of the scheduler as its lease holder last ran it, for the jobs page."""

    __tablename__ = "scheduler_jobs"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    interval_seconds: Mapped[float] = mapped_column(default=0.0)
    last_run_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_outcome: Mapped[str] = mapped_column(String(20), default="")
    last_detail: Mapped[str] = mapped_column(Text, default="")
    next_run_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class ProcessIncident(Base):
    """异常 — a scheduler firing of an instance whose script or service task failed.

    Written by the scheduler in a transaction of its own (the firing's rolled back whole), kept
    open while the instance is retried with back-off (``retrying``) and once the retries ran out
    (``waiting`` for an administrator), and resolved by the next firing that succeeds. At most one
    is open per instance (its writers hold the instance's row lock). workflows/incidents.py.
    """

    __tablename__ = "process_incidents"
    __table_args__ = (
        Index("ix_process_incidents_open", "status", "instance_id"),
        Index("ix_process_incidents_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(50), default="deadline")
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    process_key: Mapped[str] = mapped_column(String(100))
    element: Mapped[str] = mapped_column(String(100), default="")  # the failing task's BPMN id
    element_name: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")  # for people, in Chinese
    detail: Mapped[str] = mapped_column(Text, default="")  # for operators: exception and traceback
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed firings so far
    status: Mapped[str] = mapped_column(String(20), default="retrying")
    first_failed_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_failed_at: Mapped[datetime] = mapped_column(default=clock.now)
    next_retry_at: Mapped[datetime | None] = mapped_column(nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    retried_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # user id; no FK: engine table
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution: Mapped[str] = mapped_column(String(20), default="")  # fired / gone
