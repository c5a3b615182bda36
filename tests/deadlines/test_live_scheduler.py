"""The real scheduler against the real database: on time, exactly once, across restarts and
between two scheduler processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.db import db
from app.deadlines.operations import extend_deadline
from app.deadlines.scheduling import start_scheduler
from app.tasks.models import TaskRecord
from tests.deadlines.support import assessments, fired_per_instance, fixed, issue
from tests.helpers import district_ids
from workflows import clock
from workflows.store import SchedulerLease, SchedulerRun

pytestmark = pytest.mark.db
ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds it took; fail with *what* after *timeout*."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def overdue(round_id: int) -> bool:
    return all(a.self_overdue for a in assessments(round_id))


def instances(round_id: int) -> list[int]:
    return [a.instance_id for a in assessments(round_id)]


def lateness(instance_ids: list[int]) -> list[float]:
    db.session.expire_all()
    runs = db.session.scalars(
        select(SchedulerRun).where(
            SchedulerRun.instance_id.in_(instance_ids), SchedulerRun.outcome == "fired"
        )
    ).all()
    db.session.rollback()
    return [(r.started_at - r.due_at).total_seconds() for r in runs]


def test_fires_on_time_once_and_after_a_restart_with_the_deadline_past(app, demo, client_as) -> None:
    app.config.update(SCHEDULER_LEASE_SECONDS=3.0, SCHEDULER_RENEW_SECONDS=1.0)
    ids = district_ids()
    scheduler = start_scheduler(app, holder="first")
    try:
        wait_until(lambda: scheduler.leading, 5, "the lease")
        # Issued after the scheduler started: it learns of the new timers through the change feed.
        round_id = issue(
            [ids["gusu"], ids["sip"]], rules={"self_report": fixed(clock.now() + timedelta(seconds=3))}
        )
        wait_until(lambda: overdue(round_id), 8, "the deadline")
        time.sleep(1.5)
        jobs = client_as("admin").get("/deadlines").get_data(as_text=True)
        assert "运行中" in jobs
        assert "first" in jobs  # the lease holder
        assert jobs.count("截止处理") >= 2
        assert "截止提醒" in jobs
        assert "外发通知" in jobs
    finally:
        scheduler.shutdown()
    first = instances(round_id)
    assert fired_per_instance(first) == dict.fromkeys(first, 1)
    assert all(0 <= late <= 2 for late in lateness(first)), lateness(first)

    # Nothing runs while this deadline falls due.
    due = clock.now() + timedelta(seconds=1)
    later = issue([ids["wujiang"]], rules={"self_report": fixed(due)}, title="停机期间到期")
    time.sleep(2)
    assert not overdue(later)
    restarted = start_scheduler(app, holder="second")
    try:
        took = wait_until(lambda: overdue(later), 10, "the missed deadline after restart")
        time.sleep(1.5)
    finally:
        restarted.shutdown()
    assert took <= 10
    assert fired_per_instance(first + instances(later)) == dict.fromkeys(first + instances(later), 1)


def test_an_extension_moves_the_scheduled_job(app, demo) -> None:
    app.config.update(SCHEDULER_LEASE_SECONDS=3.0, SCHEDULER_RENEW_SECONDS=1.0)
    ids = district_ids()
    scheduler = start_scheduler(app, holder="only")
    try:
        wait_until(lambda: scheduler.leading, 5, "the lease")
        old_due = clock.now() + timedelta(seconds=3)
        round_id = issue([ids["gusu"]], rules={"self_report": fixed(old_due)})
        new_due = clock.now() + timedelta(seconds=6)
        with db.transaction() as session:
            admin = session.scalar(select(User).where(User.username == "admin"))
            task = session.scalar(select(TaskRecord).where(TaskRecord.round_id == round_id))
            extend_deadline(session, admin, task.id, new_due, "延期测试")
        time.sleep(max(0.0, (old_due - clock.now()).total_seconds()) + 1.5)
        assert not overdue(round_id), "fired at the old time"
        wait_until(lambda: overdue(round_id), 6, "the extended deadline")
        fired_at = clock.now()
    finally:
        scheduler.shutdown()
    assert new_due <= fired_at <= new_due + timedelta(seconds=2.5)
    assert fired_per_instance(instances(round_id)) == {instances(round_id)[0]: 1}


def _scheduler_process(name: str, database_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "SZCG_INSTANCE": str(tmp_path / f"instance-{name}"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    env.pop("SCHEDULER_ENABLED", None)
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "scheduler", "run", "--holder", name],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def lease_holder() -> str | None:
    db.session.expire_all()
    lease = db.session.scalar(select(SchedulerLease))
    holder = lease.holder if lease is not None and lease.expires_at > clock.now() else None
    db.session.rollback()
    return holder


def holders(instance_ids: list[int]) -> set[str]:
    db.session.expire_all()
    found = set(
        db.session.scalars(
            select(SchedulerRun.holder).where(
                SchedulerRun.instance_id.in_(instance_ids), SchedulerRun.outcome == "fired"
            )
        )
    )
    db.session.rollback()
    return found


def test_two_scheduler_processes_fire_each_deadline_once_and_hand_over(
    app, demo, database_url, tmp_path
) -> None:
    ids = district_ids()
    everyone = sorted(ids.values())
    first = _scheduler_process("P1", database_url, tmp_path)
    second = None
    try:
        wait_until(lambda: lease_holder() == "P1", 20, "P1 to take the lease")
        second = _scheduler_process("P2", database_url, tmp_path)
        time.sleep(3)  # P2 is up and standing by
        assert lease_holder() == "P1"

        round_id = issue(everyone, rules={"self_report": fixed(clock.now() + timedelta(seconds=3))})
        wait_until(lambda: overdue(round_id), 10, "the deadlines under P1")
        time.sleep(1)
        before = instances(round_id)
        assert fired_per_instance(before) == dict.fromkeys(before, 1)
        assert holders(before) == {"P1"}

        first.send_signal(signal.SIGKILL)  # the holder dies without giving the lease up
        first.wait()
        killed_at = time.monotonic()
        handover_round = issue(
            everyone[:3],
            rules={"self_report": fixed(clock.now() + timedelta(seconds=3))},
            title="交接期间到期",
        )
        wait_until(lambda: lease_holder() == "P2", 15, "P2 to take over")
        assert time.monotonic() - killed_at <= 15
        wait_until(
            lambda: overdue(handover_round), 15 - (time.monotonic() - killed_at) + 2, "handover deadlines"
        )
        time.sleep(1)
        after = instances(handover_round)
        assert fired_per_instance(before + after) == dict.fromkeys(before + after, 1)
        assert holders(after) == {"P2"}

        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
        assert lease_holder() is None  # a clean stop gives the lease up at once
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
