"""Asking for documents: the rows of ``notice_jobs`` that the background queue
(app/notices/jobs.py) turns into numbered, rendered notices. Kept apart from the queue so that the
areas whose clicks ask for a document (appeals, rounds) do not import the renderer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.notices.models import NoticeJob
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import assessments_of


def enqueue_notice(
    session: Session,
    actor_id: int | None,
    kind: str,
    round_: Round,
    assessment: DistrictAssessment | None = None,
    stage: str = "",
    appeal_deadline: str = "",
) -> NoticeJob:
    """Ask for one document (a release's 核查结果告知书, a 复核决定书): the caller's click only
    adds this row; the number, the render, the file and the notice row come later, together,
    in the job's own transaction."""
    job = NoticeJob(
        round_id=round_.id,
        kind=kind,
        assessment_id=assessment.id if assessment is not None else None,
        stage=stage,
        appeal_deadline=appeal_deadline,
        requested_by=actor_id,
    )
    session.add(job)
    return job


def enqueue_results(session: Session, actor_id: int | None, round_: Round) -> int:
    """At publication: the circular first, then each district's final letter."""
    enqueue_notice(session, actor_id, "circular", round_)
    assessments = assessments_of(session, round_.id)
    for assessment in assessments:
        enqueue_notice(session, actor_id, "letter", round_, assessment, "final")
    return 1 + len(assessments)
