"""The deadline scheduler: one APScheduler job per process instance, at its earliest timer.

Where the truth lives: ``process_instances.next_timer_at``, written with every save. The
process holding the lease (workflows/lease.py) loads the due dates of running instances when
it takes over, then follows ``timer_changes`` (written by any process, in the transaction
that moved a timer) every half second. Each firing locks and re-checks its instance, so a
deadline fires once even if two holders briefly overlap; the run record is written in the
firing's own transaction. Jobs never expire as missed (``misfire_grace_time=None``): a
deadline that fell due while nothing ran fires as soon as a holder loads it. A firing that fails
becomes an incident (workflows/incidents.py), retried with back-off and then left to an
administrator; an instance with an open incident is planned by ``incidents.due_dates``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflows import clock
from workflows.incidents import NOT_HELD, Incidents, due_dates
from workflows.lease import Lease, Transaction
from workflows.store import ProcessInstance, SchedulerJob, SchedulerRun, TimerChange, rowcount

log = logging.getLogger("szcg.scheduler")

LEASE_NAME = "deadlines"
TIMER_JOB_PREFIX = "timer:"
# What a firing callback reports; only "fired" changed anything.
FIRED, NOT_DUE, GONE = "fired", "not_due", "gone"
FAILED = "failed"  # what fire_recorded reports of a firing that failed (and became an incident)
BACK_OFF_ONLY = Incidents()  # incidents without the application's notifications and audit


@dataclass(frozen=True)
class Timing:
    lease_seconds: float = 6.0  # a standby takes over at most this long after the holder's last renewal
    renew_seconds: float = 2.0
    changes_seconds: float = 0.5  # how soon a due date saved elsewhere is scheduled
    sweep_seconds: float = 30.0  # a safety net for a change missed for any reason
    retry_seconds: float = 30.0  # after a firing failed and even its incident could not be recorded
    workers: int = 4


@dataclass
class PeriodicJob:
    name: str
    label: str
    seconds: float
    run: Callable[[], str]  # returns a short Chinese summary of what it did ("" when nothing)


def run_record(
    job: str,
    outcome: str,
    holder: str,
    started: datetime,
    instance_id: int | None = None,
    due: datetime | None = None,
    detail: str = "",
) -> SchedulerRun:
    return SchedulerRun(
        job=job,
        instance_id=instance_id,
        due_at=due,
        started_at=started,
        finished_at=clock.now(),
        outcome=outcome,
        detail=detail[:4000],
        holder=holder,
    )


def prune_runs(session: Session, older_than: timedelta) -> int:
    """Forget run records older than *older_than* (the jobs page shows recent ones)."""
    return rowcount(
        session.execute(delete(SchedulerRun).where(SchedulerRun.started_at < clock.now() - older_than))
    )


def fire_recorded(
    transaction: Transaction,
    fire: Callable[[Session, int], str],
    instance_id: int,
    due: datetime | None,
    holder: str,
    incidents: Incidents = BACK_OFF_ONLY,
) -> str:
    """Fire one instance in one transaction, with its run record when something fired.

    A firing that fails is rolled back whole; its incident and failed run record are written in
    a transaction of their own (FAILED). A concurrent save (StaleDataError) is raised: the
    caller tries again at once, it is no failure of the process.
    """
    started = clock.now()
    try:
        with transaction() as session:
            outcome = fire(session, instance_id)
            if outcome == FIRED:
                session.add(run_record("deadline", FIRED, holder, started, instance_id, due))
            if outcome in (FIRED, GONE):
                incidents.resolve(session, instance_id, outcome)
    except StaleDataError:
        raise
    except Exception as exc:
        log.exception("firing the deadline of instance %s failed", instance_id)
        with transaction() as session:
            incident = incidents.record(session, instance_id, exc, "deadline")
            session.add(run_record("deadline", FAILED, holder, started, instance_id, due, incident.message))
        return FAILED
    return outcome


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeadlineScheduler:
    """Elects itself through the lease, then keeps one date job per instance with a pending timer."""

    def __init__(
        self,
        transaction: Transaction,
        fire: Callable[[Session, int], str],
        holder: str | None = None,
        timing: Timing = Timing(),
        incidents: Incidents = BACK_OFF_ONLY,
    ) -> None:
        self.transaction = transaction
        self.fire = fire
        self.incidents = incidents
        self.holder = holder or default_holder()
        self.timing = timing
        self.lease = Lease(transaction, LEASE_NAME, self.holder, timedelta(seconds=timing.lease_seconds))
        self.periodic: list[PeriodicJob] = []
        self.leading = False
        self._lock = threading.Lock()
        # Firings get their own threads, so housekeeping (the lease above all) never waits behind a
        # burst of deadlines, nor deadlines behind housekeeping.
        self._pools = {"default": ThreadPoolExecutor(2), "timers": ThreadPoolExecutor(timing.workers)}
        self.scheduler = BackgroundScheduler(
            timezone=clock.SHANGHAI,
            executors=dict(self._pools),
            # Never drop a late run: APScheduler's default grace of one second would skip a
            # deadline the process was too busy (or down) to fire on the dot.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    # -- lifecycle -------------------------------------------------------------

    def add_periodic(self, name: str, label: str, seconds: float, run: Callable[[], str]) -> None:
        self.periodic.append(PeriodicJob(name, label, seconds, run))

    def start(self) -> None:
        self.scheduler.add_job(
            self._tick_lease,
            "interval",
            seconds=self.timing.renew_seconds,
            id="lease",
            next_run_time=clock.now(),
        )
        self.scheduler.start()
        log.info("scheduler %s started, standing by for the lease", self.holder)

    def shutdown(self, release: bool = True) -> None:
        # APScheduler's shutdown(wait=True) waits for running jobs while holding the lock that
        # add_job takes: a job rescheduling a deadline at that moment deadlocked the shutdown
        # (seen in the suite). Stop without waiting, then wait for the running jobs here, outside
        # the lock (a job that adds a job now only queues it on the stopped scheduler).
        self.scheduler.shutdown(wait=False)
        for pool in self._pools.values():
            pool.shutdown(wait=True)
        was_leading, self.leading = self.leading, False
        if release and was_leading:
            try:
                self.lease.release()
            except Exception:
                log.exception("releasing the scheduler lease failed; it expires by itself")

    # -- the lease ---------------------------------------------------------------

    def _tick_lease(self) -> None:
        try:
            held = self.lease.acquire_or_renew()
        except Exception:
            log.exception("renewing the scheduler lease failed")
            held = self.lease.held  # still ours until it would have expired
        with self._lock:
            if held and not self.leading:
                self._take_over()
            elif not held and self.leading:
                self._step_down()

    def _take_over(self) -> None:
        log.info("scheduler %s holds the lease", self.holder)
        self.leading = True
        loaded = self._load_all()
        every = {"seconds": self.timing.changes_seconds}
        self.scheduler.add_job(self._read_changes, "interval", id="changes", replace_existing=True, **every)
        self.scheduler.add_job(
            self._sweep, "interval", seconds=self.timing.sweep_seconds, id="sweep", replace_existing=True
        )
        for job in self.periodic:
            self.scheduler.add_job(
                self._run_periodic,
                "interval",
                seconds=job.seconds,
                args=[job],
                id=f"periodic:{job.name}",
                replace_existing=True,
                next_run_time=clock.now(),
            )
        self._record_jobs()
        log.info("scheduler %s scheduled %d instance deadlines", self.holder, loaded)

    def _step_down(self) -> None:
        log.warning("scheduler %s lost the lease; standing by", self.holder)
        self.leading = False
        for job in self.scheduler.get_jobs():
            if job.id != "lease":
                job.remove()

    def _acting(self) -> bool:
        return self.leading and self.lease.held

    # -- instance deadlines ------------------------------------------------------

    def _load_all(self) -> int:
        started = clock.now()
        with self.transaction() as session:
            rows = due_dates(session, ProcessInstance.next_timer_at.is_not(None))
            # Older notes are covered by the load just made (no transaction runs for a minute).
            session.execute(
                delete(TimerChange).where(TimerChange.created_at < started - timedelta(minutes=1))
            )
        for instance_id, due in rows:
            self._schedule(instance_id, due)
        return len(rows)

    def _read_changes(self) -> None:
        if not self._acting():
            return
        with self.transaction() as session:
            notes = session.execute(select(TimerChange.id, TimerChange.instance_id).limit(5000)).all()
            if not notes:
                return
            ids = {instance_id for _, instance_id in notes}
            current = dict(due_dates(session, ProcessInstance.id.in_(ids)))
            session.execute(delete(TimerChange).where(TimerChange.id.in_([n for n, _ in notes])))
        for instance_id in ids:
            self._schedule(instance_id, current.get(instance_id))

    def _sweep(self) -> None:
        """Fire anything overdue that has no job (an index range scan over due instances only)."""
        if not self._acting():
            return
        with self.transaction() as session:
            # Not the instances whose incident waits for an administrator: nothing fires them.
            overdue = due_dates(session, ProcessInstance.next_timer_at <= clock.now(), NOT_HELD, limit=1000)
        for instance_id, due in overdue:
            if self.scheduler.get_job(f"{TIMER_JOB_PREFIX}{instance_id}") is None:
                self._schedule(instance_id, due)

    def _schedule(self, instance_id: int, due: datetime | None) -> None:
        job_id = f"{TIMER_JOB_PREFIX}{instance_id}"
        if due is None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(job_id)
            return
        self.scheduler.add_job(
            self._fire_job,
            "date",
            run_date=due,
            args=[instance_id, due],
            id=job_id,
            executor="timers",
            replace_existing=True,
        )

    def _fire_job(self, instance_id: int, due: datetime) -> None:
        if not self._acting():
            return
        try:
            outcome = fire_recorded(
                self.transaction, self.fire, instance_id, due, self.holder, self.incidents
            )
        except StaleDataError:
            log.info("instance %s changed while firing; trying again", instance_id)
            self._schedule(instance_id, clock.now() + timedelta(milliseconds=200))
            return
        except Exception as exc:  # not even the incident could be written (the database is away)
            log.exception("recording the failed firing of instance %s failed", instance_id)
            self._record_run(
                "deadline", FAILED, f"{type(exc).__name__}: {exc}", instance_id, due, clock.now()
            )
            self._schedule(instance_id, clock.now() + timedelta(seconds=self.timing.retry_seconds))
            return
        if outcome in (NOT_DUE, FAILED):
            # NOT_DUE: moved later meanwhile, or SpiffWorkflow (which fires a timer only once its
            # date is strictly past) saw it a hair early. FAILED: at the incident's next retry, or
            # not until an administrator retries. Either way, schedule by what is stored now.
            with self.transaction() as session:
                stored = due_dates(session, ProcessInstance.id == instance_id)
            later = stored[0][1] if stored else None
            if later is not None:
                later = max(later, clock.now() + timedelta(milliseconds=50))
            self._schedule(instance_id, later)

    # -- periodic jobs and records ---------------------------------------------

    def _run_periodic(self, job: PeriodicJob) -> None:
        if not self._acting():
            return
        started = clock.now()
        try:
            detail, outcome = job.run(), "ok"
        except Exception as exc:
            log.exception("periodic job %s failed", job.name)
            detail, outcome = f"{type(exc).__name__}: {exc}", "failed"
            self._record_run(job.name, outcome, detail, None, None, started)
        else:
            if detail:
                self._record_run(job.name, outcome, detail, None, None, started)
        try:
            with self.transaction() as session:
                row = session.get(SchedulerJob, job.name)
                if row is not None:
                    row.last_run_at = started
                    row.last_outcome = outcome
                    row.last_detail = detail[:2000]
                    row.next_run_at = started + timedelta(seconds=job.seconds)
                    row.failures = (row.failures or 0) + (outcome == "failed")
        except Exception:
            log.exception("recording periodic job %s failed", job.name)

    def _record_jobs(self) -> None:
        with self.transaction() as session:
            for job in self.periodic:
                row = session.get(SchedulerJob, job.name) or SchedulerJob(name=job.name, failures=0)
                row.label = job.label
                row.interval_seconds = job.seconds
                row.next_run_at = clock.now()
                session.add(row)

    def _record_run(
        self,
        job: str,
        outcome: str,
        detail: str,
        instance_id: int | None,
        due: datetime | None,
        started: datetime,
    ) -> None:
        try:
            with self.transaction() as session:
                session.add(run_record(job, outcome, self.holder, started, instance_id, due, detail))
        except Exception:
            log.exception("recording a run of %s failed", job)
