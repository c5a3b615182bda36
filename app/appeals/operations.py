"""Every state change of appeals: filing them, deciding them, and closing the review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import DECISION_LABELS, Appeal
from app.audit.operations import record as audit
from app.deadlines.recipients import stage_recipients
from app.errors import Forbidden
from app.notices.requesting import enqueue_notice
from app.notifications.operations import notify
from app.rounds.models import DistrictAssessment
from app.rounds.operations import district_page, mark_appealed, mark_confirmed
from app.scoring.fact_forms import FactInput
from app.scoring.models import IndicatorRevision
from app.scoring.operations import record_review, summary
from app.scoring.scores import AssessmentScores
from workflows import clock


@dataclass
class Adjustment:
    """核查调整 — a verification revision that lowered an indicator's score: what may be appealed."""

    revision: IndicatorRevision
    self_score: Decimal
    verified_score: Decimal

    @property
    def lost(self) -> Decimal:
        return self.self_score - self.verified_score


def appealable(scores: AssessmentScores) -> list[Adjustment]:
    adjustments = []
    for revision in scores.revisions:
        if revision.stage != "verify" or revision.is_draft:
            continue
        code = revision.indicator.code
        before, after = scores.leaf("self", code).score, scores.leaf("verified", code).score
        if after < before:
            adjustments.append(Adjustment(revision, before, after))
    return adjustments


def appeals_of(session: Session, assessment_id: int) -> list[Appeal]:
    return list(
        session.scalars(select(Appeal).where(Appeal.assessment_id == assessment_id).order_by(Appeal.id))
    )


def confirm_results(session: Session, user_id: int, assessment: DistrictAssessment) -> None:
    mark_confirmed(assessment)
    audit(
        session,
        user_id,
        "assessment.confirm",
        ("assessment", assessment.id),
        f"{assessment.district.name} 确认核查结果",
        scope=assessment,
    )


def file_appeal(
    session: Session, user_id: int, assessment: DistrictAssessment, adjustment: Adjustment, reason: str
) -> Appeal:
    appeal = Appeal(
        assessment_id=assessment.id, revision_id=adjustment.revision.id, reason=reason, submitted_by=user_id
    )
    session.add(appeal)
    session.flush()
    mark_appealed(assessment)
    code = adjustment.revision.indicator.code
    audit(
        session,
        user_id,
        "appeal.file",
        ("appeal", appeal.id),
        f"{assessment.district.name} 对 {code} 核查调整（失分 {adjustment.lost}）提出申诉",
        after={"revision_id": adjustment.revision.id, "reason": reason},
        scope=assessment,
    )
    return appeal


def decide_appeal(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    appeal: Appeal,
    decision: str,
    facts: Sequence[FactInput] | None,
    withdrawn: Decimal,
    reason: str,
) -> Appeal:
    """Uphold (fully or partly) with the facts that now stand, or reject; 回避 is enforced here too."""
    if appeal.revision.recorded_by == user_id:
        raise Forbidden("您是被申诉事项的核查人，按回避规定不能复核")
    before = {"decision": appeal.decision}
    appeal.decision = decision
    appeal.decision_reason = reason
    appeal.decided_by = user_id
    appeal.decided_at = clock.now()
    appeal.withdrawn = withdrawn
    if facts is not None:
        record_review(session, user_id, assessment, appeal.revision.indicator, facts, f"申诉复核：{reason}")
    audit(
        session,
        user_id,
        "appeal.decide",
        ("appeal", appeal.id),
        f"申诉复核 {appeal.revision.indicator.code}：{DECISION_LABELS[decision]}，恢复 {withdrawn} 分",
        before=before,
        after={
            "decision": decision,
            "withdrawn": str(withdrawn),
            "reason": reason,
            "facts": summary(facts or []),
        },
        scope=assessment,
    )
    return appeal


def close_review(session: Session, user_id: int, assessment: DistrictAssessment) -> None:
    """The reviewer submitted every decision: ask for the 复核决定书 and tell the district.

    The document is numbered and rendered by the background notice queue, so the reviewer's click
    records the decisions and never waits on the document counter or the renderer."""
    enqueue_notice(session, user_id, "decision", assessment.round, assessment)
    notify(
        session,
        stage_recipients(session, ["liaison"], assessment.district_id),
        f"{assessment.round.title} 申诉复核已完成",
        "申诉复核结果已记入本区考核结果。复核决定书随后生成，可在本区考核页面查看和下载。",
        district_page(assessment.round_id, assessment.district_id),
    )
