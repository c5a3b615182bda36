"""Every state change of appeals: filing them and deciding them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import DECISION_LABELS, Appeal
from app.audit.operations import record as audit
from app.errors import Forbidden
from app.rounds.models import DistrictAssessment
from app.scoring.models import ScoreEntry
from app.scoring.operations import withdraw_adjustment
from workflows import clock


def appealable_adjustments(session: Session, assessment_id: int) -> list[ScoreEntry]:
    """Verified adjustments that took points off: the only ones a district may contest."""
    return list(
        session.scalars(
            select(ScoreEntry)
            .where(
                ScoreEntry.assessment_id == assessment_id,
                ScoreEntry.stage == "verify",
                ScoreEntry.is_draft.is_(False),
                ScoreEntry.amount > 0,
            )
            .order_by(ScoreEntry.id)
        )
    )


def appeals_of(session: Session, assessment_id: int) -> list[Appeal]:
    return list(
        session.scalars(select(Appeal).where(Appeal.assessment_id == assessment_id).order_by(Appeal.id))
    )


def confirm_results(session: Session, user_id: int, assessment: DistrictAssessment) -> None:
    assessment.confirmed_at = clock.now()
    audit(
        session,
        user_id,
        "assessment.confirm",
        ("assessment", assessment.id),
        f"{assessment.district.name} 确认核查结果",
        scope=assessment,
    )


def file_appeal(
    session: Session, user_id: int, assessment: DistrictAssessment, adjustment: ScoreEntry, reason: str
) -> Appeal:
    appeal = Appeal(
        assessment_id=assessment.id, adjustment_id=adjustment.id, reason=reason, submitted_by=user_id
    )
    session.add(appeal)
    session.flush()
    assessment.appealed = True
    audit(
        session,
        user_id,
        "appeal.file",
        ("appeal", appeal.id),
        f"{assessment.district.name} 对 {adjustment.indicator.code} 核查扣分 {adjustment.amount} 提出申诉",
        after={"adjustment_id": adjustment.id, "reason": reason},
        scope=assessment,
    )
    return appeal


def decide_appeal(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    appeal: Appeal,
    decision: str,
    withdrawn: Decimal,
    reason: str,
) -> Appeal:
    """Uphold (fully or partly) or reject; an upheld appeal withdraws points as a new record."""
    if appeal.adjustment.recorded_by == user_id:
        raise Forbidden("您是被申诉事项的核查人，按回避规定不能复核")
    before = {"decision": appeal.decision}
    appeal.decision = decision
    appeal.decision_reason = reason
    appeal.decided_by = user_id
    appeal.decided_at = clock.now()
    appeal.withdrawn = withdrawn
    if withdrawn > 0:
        withdraw_adjustment(
            session,
            user_id,
            assessment,
            appeal.id,
            appeal.adjustment.indicator_id,
            withdrawn,
            f"申诉复核：{reason}",
        )
    audit(
        session,
        user_id,
        "appeal.decide",
        ("appeal", appeal.id),
        f"申诉复核 {appeal.adjustment.indicator.code}：{DECISION_LABELS[decision]}，撤销扣分 {withdrawn}",
        before=before,
        after={"decision": decision, "withdrawn": str(withdrawn), "reason": reason},
        scope=assessment,
    )
    return appeal
