"""The in-process scheduler: fires process timers that have fallen due.

Due instances are found through the indexed ``next_timer_at`` column, never by
loading every instance. Deadline robustness (leases, restarts, exact-once
bounds) is built on this in the deadlines work.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.db import db
from app.processes import store
from app.rounds.services import ProcessServices, after_instance_step
from workflows import clock
from workflows.runner import fire_due_timers
from workflows.store import ProcessInstance

log = logging.getLogger("szcg.scheduler")


def fire_instance(session: Session, instance_id: int) -> None:
    services = ProcessServices(session, None)
    instance, wf, definition = store().load(session, instance_id, services)
    fire_due_timers(wf)
    after_instance_step(session, services, instance, wf, definition)


def fire_due(limit: int = 100) -> int:
    """Fire every instance whose earliest timer is due; each in its own transaction."""
    session = db.session
    due_ids = list(
        session.scalars(
            select(ProcessInstance.id)
            .where(ProcessInstance.next_timer_at <= clock.now(), ProcessInstance.status == "running")
            .order_by(ProcessInstance.next_timer_at)
            .limit(limit)
        )
    )
    session.rollback()
    fired = 0
    for instance_id in due_ids:
        try:
            with db.transaction() as s:
                fire_instance(s, instance_id)
            fired += 1
        except StaleDataError:
            log.info("instance %s changed while firing; it will be retried", instance_id)
        except Exception:
            log.exception("firing timers of instance %s failed", instance_id)
    return fired


def start_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=clock.SHANGHAI)

    def job() -> None:
        with app.app_context():
            fire_due()

    scheduler.add_job(
        job,
        "interval",
        seconds=app.config["SCHEDULER_INTERVAL_SECONDS"],
        id="fire_due_timers",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("scheduler started")
    return scheduler
