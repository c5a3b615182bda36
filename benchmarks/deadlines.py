"""How late deadlines fire with the real scheduler: 1,000 district instances due over 20 seconds.

    python -m benchmarks.deadlines [instances] [window_seconds]

Builds one round of 1,000 districts on a fresh SQLite file (production engine settings),
moves each district's self-report deadline (the BPMN timer itself, as an extension does) so
they fall evenly over the next 20 seconds, then starts the real scheduler (lease, one
APScheduler job per instance, change feed). Each firing loads the instance, runs the timer
and its service task (the self-report closes overdue, facts are promoted, the liaison and
administrators are notified), saves and commits.

Lateness is measured from each deadline to the commit of its firing (the run record's
``finished_at``, written in the firing's transaction). Firings are counted by their side
effect, the ``score.self_overdue`` audit record of each district, so a double firing would
show even if the scheduler's own bookkeeping missed it.

Prints the figures and, last, ``deadline_max_late_s=…`` (target ≤ 2, none missed or doubled).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.db import db
from app.deadlines.scheduling import start_scheduler
from app.demo import seed_default_scheme
from app.processes import store
from app.processes.runtime import ProcessRun
from app.rounds.issuing import issue_round
from app.rounds.models import DistrictAssessment
from app.tasks.models import TaskRecord
from benchmarks._common import DEADLINES, add_districts, add_user, bench_app
from workflows import clock
from workflows.runner import move_timer
from workflows.store import SchedulerRun

INSTANCES = 1000
WINDOW = 20.0
LEAD = 3.0  # seconds between the end of set-up and the first deadline


def build(count: int) -> list[tuple[int, int]]:
    """A round of *count* districts; returns (task record id, instance id) of each self-report."""
    with db.transaction() as session:
        scheme = seed_default_scheme(session)
        admin = add_user(session, "bench_admin", "admin")
        districts = add_districts(session, count)
        far = {
            **DEADLINES,
            "self_report": {"kind": "fixed", "at": (clock.now() + timedelta(days=1)).isoformat()},
        }
        round_ = issue_round(session, admin, "截止基准", "2026-12", scheme.id, districts, far)
        round_id = round_.id
    return list(
        db.session.execute(
            select(TaskRecord.id, TaskRecord.instance_id)
            .where(TaskRecord.round_id == round_id, TaskRecord.element == "self_report")
            .order_by(TaskRecord.id)
        ).all()
    )


def move(task_id: int, instance_id: int, due: object) -> None:
    with db.transaction() as session:
        record = session.get(TaskRecord, task_id)
        assert record is not None
        store().lock(session, instance_id)
        run = ProcessRun(session, None)
        instance, wf, definition = run.load(instance_id)
        move_timer(wf, record.task_id, due)  # type: ignore[arg-type]
        run.step_done(instance, wf, definition)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else INSTANCES
    window = float(sys.argv[2]) if len(sys.argv) > 2 else WINDOW
    with bench_app() as (app, _tmp):
        app.config.update(SCHEDULER_LEASE_SECONDS=6.0, SCHEDULER_RENEW_SECONDS=2.0)
        if os.environ.get("SCHEDULER_WORKERS"):
            app.config["SCHEDULER_WORKERS"] = int(os.environ["SCHEDULER_WORKERS"])
        with app.app_context():
            started = time.perf_counter()
            tasks = build(count)
            print(f"set-up: round of {count} districts issued in {time.perf_counter() - started:.1f} s")

            # Time a few moves to know how long moving all of them takes, then spread the
            # deadlines over the window that begins LEAD seconds after the last move.
            probe = time.perf_counter()
            for task_id, instance_id in tasks[:20]:
                move(task_id, instance_id, clock.now() + timedelta(hours=12))
            per_move = (time.perf_counter() - probe) / 20
            base = clock.now() + timedelta(seconds=per_move * count * 1.5 + LEAD)
            dues = {}
            for n, (task_id, instance_id) in enumerate(tasks):
                due = base + timedelta(seconds=window * n / count)
                move(task_id, instance_id, due)
                dues[instance_id] = due
            spare = (base - clock.now()).total_seconds()
            print(
                f"set-up: {count} deadlines moved ({per_move * 1000:.1f} ms each); first due in {spare:.1f} s"
            )

        scheduler = start_scheduler(app, holder="benchmark")
        try:
            end = base + timedelta(seconds=window + 15)
            with app.app_context():
                while clock.now() < end:
                    done = db.session.scalar(
                        select(func.count()).where(AuditRecord.action == "score.self_overdue")
                    )
                    db.session.rollback()
                    if done >= count and clock.now() > base + timedelta(seconds=window + 2):
                        break
                    time.sleep(0.5)
        finally:
            scheduler.shutdown()

        with app.app_context():
            runs = db.session.execute(
                select(SchedulerRun.instance_id, SchedulerRun.due_at, SchedulerRun.finished_at).where(
                    SchedulerRun.job == "deadline", SchedulerRun.outcome == "fired"
                )
            ).all()
            instance_of = dict(
                db.session.execute(select(DistrictAssessment.id, DistrictAssessment.instance_id)).all()
            )
            firings: dict[int, int] = {}
            for object_id in db.session.scalars(
                select(AuditRecord.object_id).where(AuditRecord.action == "score.self_overdue")
            ):
                instance_id = instance_of[int(object_id)]
                firings[instance_id] = firings.get(instance_id, 0) + 1
            failures = db.session.scalar(
                select(func.count()).where(SchedulerRun.job == "deadline", SchedulerRun.outcome == "failed")
            )

    late = [(finished - due).total_seconds() for _i, due, finished in runs]

    not_fired = sum(1 for instance_id in dues if firings.get(instance_id, 0) == 0)
    doubled = sum(1 for n in firings.values() if n > 1)
    print(f"instances: {count}, deadlines spread over {window:g} s")
    print(
        f"fired: {len(firings)}  fired twice: {doubled}  not fired: {not_fired}  failed attempts: {failures}"
    )
    if late:
        ordered = sorted(late)
        p99 = ordered[max(0, -(-99 * len(ordered) // 100) - 1)]
        print(
            f"lateness (deadline → commit): median {statistics.median(late):.3f} s,"
            f" p99 {p99:.3f} s, max {ordered[-1]:.3f} s"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak_mb:.0f} MB")
    print(f"deadline_not_fired={not_fired}")
    print(f"deadline_fired_twice={doubled}")
    print(f"deadline_max_late_s={max(late) if late else float('inf'):.3f}")


if __name__ == "__main__":
    main()
