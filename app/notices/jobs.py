"""Generating many notices in the background: the scheduler's lease holder works through
``notice_jobs``, one document per transaction, so a failed document is retried on its own and
the others are not held up; the round page reads the progress from the same rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.db import db
from app.notices.models import NoticeJob
from app.notices.operations import issue_notice
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import assessments_of
from workflows import clock

MAX_ATTEMPTS = 3
TIME_BUDGET_SECONDS = 20.0  # per run of the periodic job; the rest waits for the next run


def enqueue_results(session: Session, actor_id: int | None, round_: Round) -> int:
    """At publication: the circular first, then each district's final letter."""
    jobs = [NoticeJob(round_id=round_.id, kind="circular", requested_by=actor_id)]
    jobs += [
        NoticeJob(round_id=round_.id, kind="letter", assessment_id=a.id, stage="final", requested_by=actor_id)
        for a in assessments_of(session, round_.id)
    ]
    session.add_all(jobs)
    return len(jobs)


def run_pending(budget: float = TIME_BUDGET_SECONDS) -> str:
    """Generate due documents until the budget is spent; returns a short Chinese summary."""
    started = time.monotonic()
    done = failed = 0
    while time.monotonic() - started < budget:
        job_id = db.session.scalar(
            select(NoticeJob.id)
            .where(NoticeJob.status == "pending", NoticeJob.next_attempt_at <= clock.now())
            .order_by(NoticeJob.id)
            .limit(1)
        )
        db.session.rollback()
        if job_id is None:
            break
        try:
            with db.transaction() as session:
                _generate(session, job_id)
            done += 1
        except Exception as exc:  # one document's failure must not stop the others
            _record_failure(job_id, exc)
            failed += 1
    if not done and not failed:
        return ""
    return f"生成文件 {done} 份" + (f"，失败 {failed} 份" if failed else "")


def _generate(session: Session, job_id: int) -> None:
    job = session.get(NoticeJob, job_id, with_for_update=True)
    if job is None or job.status != "pending":
        return
    round_ = session.get(Round, job.round_id)
    assert round_ is not None
    assessment = session.get(DistrictAssessment, job.assessment_id) if job.assessment_id else None
    notice = issue_notice(session, job.requested_by, job.kind, round_, assessment, job.stage)
    job.status, job.notice_id, job.finished_at = "done", notice.id, clock.now()
    job.attempts += 1


def _record_failure(job_id: int, exc: Exception) -> None:
    with db.transaction() as session:
        job = session.get(NoticeJob, job_id)
        if job is None:
            return
        job.attempts += 1
        job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            audit(
                session,
                None,
                "notice.failed",
                ("notice_job", job.id),
                f"文件生成失败（已重试 {job.attempts} 次）：{job.last_error}",
                round_id=job.round_id,
            )
        else:
            job.next_attempt_at = clock.now() + timedelta(seconds=30 * job.attempts)


def retry_failed(session: Session, actor_id: int, round_id: int) -> int:
    jobs = list(
        session.scalars(select(NoticeJob).where(NoticeJob.round_id == round_id, NoticeJob.status == "failed"))
    )
    for job in jobs:
        job.status, job.attempts, job.next_attempt_at = "pending", 0, clock.now()
    if jobs:
        audit(
            session,
            actor_id,
            "notice.retry",
            ("round", round_id),
            f"重新生成 {len(jobs)} 份失败的文件",
            round_id=round_id,
        )
    return len(jobs)


@dataclass
class Progress:
    total: int
    done: int
    failed: int
    errors: list[str]

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def progress_of(session: Session, round_id: int) -> Progress | None:
    counts = dict(
        session.execute(
            select(NoticeJob.status, func.count())
            .where(NoticeJob.round_id == round_id)
            .group_by(NoticeJob.status)
        ).all()
    )
    total = sum(counts.values())
    if not total:
        return None
    errors = list(
        session.scalars(
            select(NoticeJob.last_error)
            .where(NoticeJob.round_id == round_id, NoticeJob.status == "failed")
            .limit(5)
        )
    )
    return Progress(total, counts.get("done", 0), counts.get("failed", 0), errors)
