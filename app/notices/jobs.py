"""Generating notices in the background: a click that calls for a document (a release's
核查结果告知书, a review's 复核决定书, a publication's circular and final letters) only adds a
``notice_jobs`` row (app/notices/requesting.py); the scheduler's lease holder works through
them, one document per transaction (number, render, file and row together), so a failed
document is retried on its own, uses no number, and holds up neither the others nor anyone's
click. The round and district pages read the progress from the same rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.db import db
from app.deadlines.recipients import stage_recipients
from app.notices.models import NUMBERED_KINDS, NoticeJob
from app.notices.numbering import numbered_kind
from app.notices.operations import issue_notice
from app.notifications.operations import notify
from app.rounds.models import DistrictAssessment, Round
from workflows import clock
from workflows.store import rowcount

MAX_ATTEMPTS = 3
TIME_BUDGET_SECONDS = 20.0  # per run of the periodic job; the rest waits for the next run


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


def _claim(session: Session, job_id: int) -> NoticeJob | None:
    """The job, if it is still pending once this transaction holds it. A conditional UPDATE, not
    a read: two runners at once (a lease changing hands, a command beside the scheduler) cannot
    both see it pending, on PostgreSQL (the row lock) or on SQLite (whose reads take no lock)."""
    claimed = rowcount(
        session.execute(
            update(NoticeJob)
            .where(NoticeJob.id == job_id, NoticeJob.status == "pending")
            .values(attempts=NoticeJob.attempts + 1)
        )
    )
    if not claimed:
        return None
    return session.get(NoticeJob, job_id, populate_existing=True)


def _generate(session: Session, job_id: int) -> None:
    job = _claim(session, job_id)
    if job is None:
        return
    round_ = session.get(Round, job.round_id)
    assert round_ is not None
    assessment = session.get(DistrictAssessment, job.assessment_id) if job.assessment_id else None
    notice = issue_notice(
        session,
        job.requested_by,
        job.kind,
        round_,
        assessment,
        job.stage,
        appeal_deadline=job.appeal_deadline,
    )
    job.status, job.notice_id, job.finished_at = "done", notice.id, clock.now()


def _label(job: NoticeJob) -> str:
    """What the document is called (a letter by its stage: 核查 / 最终结果告知书)."""
    return NUMBERED_KINDS[numbered_kind(job.kind, job.stage)]


def _record_failure(job_id: int, exc: Exception) -> None:
    with db.transaction() as session:
        job = session.get(NoticeJob, job_id, with_for_update=True)
        if job is None or job.status != "pending":  # another runner finished it meanwhile
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
            # The district's page says the administrators were told; the cause is on the round page.
            round_ = session.get(Round, job.round_id)
            assert round_ is not None
            notify(
                session,
                stage_recipients(session, ["admin"], None),
                f"{round_.title} 文件生成失败",
                f"{_label(job)}生成失败（已尝试 {job.attempts} 次），请在本轮页面查看原因，处理后重新生成。",
                f"/rounds/{job.round_id}",
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


@dataclass(frozen=True)
class DocumentInProgress:
    """A district's document asked for and not yet issued, as its page tells the district."""

    label: str
    failed: bool
    requested_at: datetime


def documents_in_progress(session: Session, assessment_id: int) -> list[DocumentInProgress]:
    jobs = session.scalars(
        select(NoticeJob)
        .where(NoticeJob.assessment_id == assessment_id, NoticeJob.status != "done")
        .order_by(NoticeJob.id)
    )
    return [DocumentInProgress(_label(job), job.status == "failed", job.created_at) for job in jobs]
