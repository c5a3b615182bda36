"""The application's side of the deadline scheduler: what a firing does, and which periodic
jobs run beside it (reminders, the notification outbox, pruning old run records, removing
files left without a row).

Every process may start a scheduler (``SCHEDULER_ENABLED``: the development server, each
gunicorn worker, or one ``flask --app app scheduler run``); the lease in workflows/lease.py
lets one of them act and keeps the others standing by.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.db import db
from app.deadlines.incidents import incidents_for
from app.deadlines.reminders import send_due_reminders
from app.evidence.sweeping import sweep_orphan_uploads
from app.notices.jobs import run_pending
from app.notices.sweeping import sweep_orphan_notices
from app.notifications.outbox import deliver_pending
from app.processes import store
from app.processes.runtime import ProcessRun
from workflows import clock
from workflows.incidents import NOT_HELD, due_dates
from workflows.runner import fire_due_timers
from workflows.scheduler import FIRED, GONE, NOT_DUE, DeadlineScheduler, Timing, fire_recorded, prune_runs
from workflows.store import ProcessInstance

log = logging.getLogger("szcg.scheduler")

RUN_RETENTION = timedelta(days=90)


def fire_instance(session: Session, instance_id: int) -> str:
    """Run the due timers of one instance in the caller's transaction; say what happened."""
    instance = store().lock(session, instance_id)
    if instance is None or instance.status != "running" or instance.next_timer_at is None:
        return GONE
    if instance.next_timer_at > clock.now():
        return NOT_DUE
    run = ProcessRun(session, None)
    instance, wf, definition = run.load(instance_id)
    if not fire_due_timers(wf):
        return NOT_DUE
    run.step_done(instance, wf, definition)
    return FIRED


def fire_overdue(limit: int = 1000, config: Mapping[str, Any] | None = None) -> int:
    """Fire every instance whose deadline has passed, here and now (tests; ``flask scheduler fire-due``).

    The same path as the scheduler's jobs, one transaction per instance; an instance with an
    incident only when its retry is due, and a failure becomes (or adds to) its incident. Returns
    how many fired. The retry settings are *config*'s (default: the current app's).
    """
    now = clock.now()
    due = due_dates(db.session, ProcessInstance.next_timer_at <= now, NOT_HELD, limit=limit)
    db.session.rollback()
    incidents = incidents_for(config)
    fired = 0
    for instance_id, due_at in due:
        if due_at is None or due_at > now:
            continue  # its incident's next retry is later
        try:
            outcome = fire_recorded(db.transaction, fire_instance, instance_id, due_at, "manual", incidents)
            fired += outcome == FIRED
        except StaleDataError:
            log.info("instance %s changed while firing; left for the scheduler", instance_id)
    return fired


def prune_old_runs(session: Session) -> str:
    removed = prune_runs(session, RUN_RETENTION)
    return f"清理 {removed} 条运行记录" if removed else ""


def sweep_files(session: Session) -> str:
    """Upload and notice files that a failed request or job left without their row."""
    config = current_app.config
    older_than = timedelta(minutes=config["ORPHAN_FILE_MINUTES"])
    uploads = sweep_orphan_uploads(session, Path(config["UPLOAD_DIR"]), older_than)
    notices = sweep_orphan_notices(session, Path(config["NOTICE_DIR"]), older_than)
    parts = []
    if uploads:
        parts.append(f"上传文件 {uploads} 个")
    if notices:
        parts.append(f"通报文件 {notices} 个")
    return f"清理无主{'、'.join(parts)}" if parts else ""


def build_scheduler(app: Flask, holder: str | None = None) -> DeadlineScheduler:
    def transaction() -> AbstractContextManager[Session]:
        return _app_transaction(app)

    def in_app(job: Callable[[], str]) -> Callable[[], str]:
        def run() -> str:
            with app.app_context():  # popping it removes the thread's session
                return job()

        return run

    timing = Timing(
        lease_seconds=app.config["SCHEDULER_LEASE_SECONDS"],
        renew_seconds=app.config["SCHEDULER_RENEW_SECONDS"],
        workers=app.config["SCHEDULER_WORKERS"]
        or (1 if app.config["DATABASE_URL"].startswith("sqlite") else 4),
    )
    scheduler = DeadlineScheduler(transaction, fire_instance, holder, timing, incidents_for(app.config))

    def in_transaction(job: Callable[[Session], str]) -> Callable[[], str]:
        def run() -> str:
            with transaction() as session:
                return job(session)

        return run

    config = app.config
    scheduler.add_periodic(
        "reminders", "截止提醒", config["REMINDER_POLL_SECONDS"], in_transaction(send_due_reminders)
    )
    scheduler.add_periodic(
        "outbox", "外发通知（邮件等）", config["OUTBOX_POLL_SECONDS"], in_app(deliver_pending)
    )
    scheduler.add_periodic("notices", "生成通报与告知书", config["NOTICE_POLL_SECONDS"], in_app(run_pending))
    scheduler.add_periodic("prune_runs", "清理运行记录", 3600, in_transaction(prune_old_runs))
    scheduler.add_periodic("sweep_files", "清理无主文件", 300, in_transaction(sweep_files))
    return scheduler


@contextmanager
def _app_transaction(app: Flask) -> Iterator[Session]:
    """A transaction on the app's database from a scheduler thread (its own scoped session,
    removed when the app context pops)."""
    with app.app_context(), db.transaction() as session:
        yield session


def start_scheduler(app: Flask, holder: str | None = None) -> DeadlineScheduler:
    scheduler = build_scheduler(app, holder)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    # A worker that exits cleanly gives the lease up, so its successor need not wait for expiry.
    atexit.register(_stop_quietly, scheduler)
    return scheduler


def _stop_quietly(scheduler: DeadlineScheduler) -> None:
    if scheduler.scheduler.running:
        scheduler.shutdown(release=True)
