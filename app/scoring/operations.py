"""Every state change of scores: self-report, verification and appeal entries."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.rounds.models import DistrictAssessment
from app.scoring.models import ScoreEntry
from workflows import clock

ZERO = Decimal(0)
# Points lost per indicator with the explanation: {indicator_id: (amount, reason)}
IndicatorValues = dict[int, tuple[Decimal, str]]


def parse_points(text: object, maximum: Decimal) -> Decimal:
    """Points from a form value: a number from 0 to *maximum* with at most two decimals."""
    raw = str(text if text is not None else "").strip()
    if raw == "":
        return ZERO
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError("请输入数字") from exc
    if not value.is_finite():
        raise ValueError("请输入数字")
    if value < 0 or value > maximum:
        raise ValueError(f"须在 0 到 {maximum} 之间")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("最多两位小数")
    return value.quantize(Decimal("0.01"))


def entries_for(session: Session, assessment_id: int, include_drafts: bool = False) -> list[ScoreEntry]:
    query = select(ScoreEntry).where(ScoreEntry.assessment_id == assessment_id)
    if not include_drafts:
        query = query.where(ScoreEntry.is_draft.is_(False))
    return list(session.scalars(query.order_by(ScoreEntry.id)))


def lost_by_indicator(
    entries: list[ScoreEntry], stages: tuple[str, ...], drafts: bool = False
) -> dict[int, Decimal]:
    lost: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        if entry.stage in stages and (drafts or not entry.is_draft):
            lost[entry.indicator_id] += entry.amount
    return lost


def _drop_drafts(session: Session, assessment_id: int, stage: str) -> None:
    session.execute(
        delete(ScoreEntry).where(
            ScoreEntry.assessment_id == assessment_id,
            ScoreEntry.stage == stage,
            ScoreEntry.is_draft.is_(True),
        )
    )


def save_self_report(
    session: Session, user_id: int, assessment: DistrictAssessment, values: IndicatorValues, draft: bool
) -> None:
    """The district's own deductions; a draft replaces the previous draft."""
    _drop_drafts(session, assessment.id, "self")
    after = {}
    for indicator_id, (amount, reason) in values.items():
        if amount == 0 and not reason:
            continue
        session.add(
            ScoreEntry(
                assessment_id=assessment.id,
                indicator_id=indicator_id,
                stage="self",
                amount=amount,
                reason=reason,
                is_draft=draft,
                recorded_by=user_id,
            )
        )
        after[indicator_id] = str(amount)
    if not draft:
        assessment.self_submitted_at = clock.now()
    audit(
        session,
        user_id,
        "score.self_draft" if draft else "score.self_submit",
        ("assessment", assessment.id),
        f"{assessment.district.name} {'暂存' if draft else '提交'}自评",
        after=after,
        scope=assessment,
    )
    session.flush()


def save_verification(
    session: Session, user_id: int, assessment: DistrictAssessment, verified: IndicatorValues, draft: bool
) -> None:
    """The inspector's verified points lost; each difference from the self-report is an adjustment."""
    _drop_drafts(session, assessment.id, "verify")
    self_lost = lost_by_indicator(entries_for(session, assessment.id), ("self",))
    adjustments = {}
    for indicator_id, (lost, reason) in verified.items():
        adjustment = lost - self_lost[indicator_id]
        if adjustment == 0:
            continue
        session.add(
            ScoreEntry(
                assessment_id=assessment.id,
                indicator_id=indicator_id,
                stage="verify",
                amount=adjustment,
                reason=reason,
                is_draft=draft,
                recorded_by=user_id,
            )
        )
        adjustments[indicator_id] = {"self": str(self_lost[indicator_id]), "verified": str(lost)}
    if not draft:
        assessment.verified_by = user_id
        assessment.verified_at = clock.now()
    audit(
        session,
        user_id,
        "score.verify_draft" if draft else "score.verify_submit",
        ("assessment", assessment.id),
        f"{assessment.district.name} {'暂存' if draft else '提交'}核查结果",
        after=adjustments,
        scope=assessment,
    )
    session.flush()


def close_overdue_self_report(session: Session, assessment: DistrictAssessment) -> None:
    """Deadline passed: the saved draft counts as submitted and the district is flagged 逾期未报."""
    drafts = list(
        session.scalars(
            select(ScoreEntry).where(
                ScoreEntry.assessment_id == assessment.id,
                ScoreEntry.stage == "self",
                ScoreEntry.is_draft.is_(True),
            )
        )
    )
    for entry in drafts:
        entry.is_draft = False
    assessment.self_overdue = True
    audit(
        session,
        None,
        "score.self_overdue",
        ("assessment", assessment.id),
        f"{assessment.district.name} 自评逾期未报，草稿 {len(drafts)} 条视为提交",
        scope=assessment,
    )


def withdraw_adjustment(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    appeal_id: int,
    indicator_id: int,
    amount: Decimal,
    reason: str,
) -> ScoreEntry:
    """An upheld appeal gives back *amount* points of a verified adjustment."""
    entry = ScoreEntry(
        assessment_id=assessment.id,
        indicator_id=indicator_id,
        stage="appeal",
        amount=-amount,
        reason=reason,
        appeal_id=appeal_id,
        recorded_by=user_id,
    )
    session.add(entry)
    session.flush()
    return entry
