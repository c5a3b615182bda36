"""What the administrator's jobs page shows, read from the database so any worker can show it
(the scheduler's own jobs live in whichever process holds the lease)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.deadlines.incidents import Scope, process_label, scopes
from app.deadlines.models import Reminder
from app.notifications.channels import enabled_channels
from app.notifications.models import OutboundMessage
from app.rounds.models import Round
from app.tasks.models import TaskRecord
from workflows import clock
from workflows.incidents import RESOLVED
from workflows.scheduler import LEASE_NAME
from workflows.store import ProcessIncident, ProcessInstance, SchedulerJob, SchedulerLease, SchedulerRun

LIST = 30


@dataclass
class IncidentRow:
    incident: ProcessIncident
    process: str
    scope: Scope
    instance_status: str  # running, or cancelled/completed: a retry only closes the incident


@dataclass
class JobsOverview:
    lease: SchedulerLease | None
    lease_alive: bool
    periodic: list[SchedulerJob]
    upcoming: list[TaskRecord]
    waiting_instances: int
    overdue_instances: int
    runs: list[SchedulerRun]
    failures: list[SchedulerRun]
    outbox: dict[str, int]
    outbox_failed: list[OutboundMessage]
    reminders_pending: int
    channels: list[str]
    round_titles: dict[int, str]
    incidents: list[IncidentRow]

    @property
    def job_labels(self) -> dict[str, str]:
        """What the run records' job names are called (the periodic jobs name themselves)."""
        return {"deadline": "截止处理", **{job.name: job.label for job in self.periodic if job.label}}


def open_incidents(session: Session, limit: int = 100) -> list[IncidentRow]:
    """Incidents not yet resolved, those waiting for an administrator first, then the latest."""
    rows = session.execute(
        select(ProcessIncident, ProcessInstance.status)
        .join(ProcessInstance, ProcessInstance.id == ProcessIncident.instance_id)
        .where(ProcessIncident.status != RESOLVED)
        .order_by((ProcessIncident.status == "waiting").desc(), ProcessIncident.last_failed_at.desc())
        .limit(limit)
    ).all()
    where = scopes(session, [incident.instance_id for incident, _ in rows])
    return [
        IncidentRow(
            incident, process_label(incident.process_key), where.get(incident.instance_id, Scope()), status
        )
        for incident, status in rows
    ]


def overview(session: Session) -> JobsOverview:
    now = clock.now()
    lease = session.get(SchedulerLease, LEASE_NAME)
    running = ProcessInstance.status == "running"
    upcoming = list(
        session.scalars(
            select(TaskRecord)
            .where(TaskRecord.state == "ready", TaskRecord.due_at.is_not(None))
            .order_by(TaskRecord.due_at)
            .limit(LIST)
        )
    )
    round_ids = {t.round_id for t in upcoming}
    titles = dict(session.execute(select(Round.id, Round.title).where(Round.id.in_(round_ids))).all())
    counts: dict[str, Any] = dict(
        session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all()
    )
    return JobsOverview(
        lease=lease,
        lease_alive=lease is not None and lease.expires_at > now,
        periodic=list(session.scalars(select(SchedulerJob).order_by(SchedulerJob.name))),
        upcoming=upcoming,
        waiting_instances=session.scalar(
            select(func.count()).where(running, ProcessInstance.next_timer_at.is_not(None))
        )
        or 0,
        overdue_instances=session.scalar(
            select(func.count()).where(running, ProcessInstance.next_timer_at <= now)
        )
        or 0,
        runs=list(session.scalars(select(SchedulerRun).order_by(SchedulerRun.id.desc()).limit(LIST))),
        failures=list(
            session.scalars(
                select(SchedulerRun)
                .where(SchedulerRun.outcome == "failed")
                .order_by(SchedulerRun.id.desc())
                .limit(10)
            )
        ),
        outbox={status: int(counts.get(status, 0)) for status in ("pending", "sent", "failed")},
        outbox_failed=list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.status == "failed")
                .order_by(OutboundMessage.id.desc())
                .limit(10)
            )
        ),
        reminders_pending=session.scalar(select(func.count()).where(Reminder.sent_at.is_(None))) or 0,
        channels=[c.label or c.name for c in enabled_channels().values()],
        round_titles=titles,
        incidents=open_incidents(session),
    )
