"""What each notice says, read from the round's records (the renderer gets plain data)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.operations import appeals_of
from app.evidence.models import EvidenceFile
from app.notices.render import (
    CircularContent,
    DecisionContent,
    DecisionItem,
    DeductionLine,
    IndicatorLine,
    LetterContent,
    RankingLine,
)
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import assessments_of, results_of, scores_of
from app.schemes.models import Indicator

STAGE_COLUMNS = {"self": "自评分", "verified": "核查分", "final": "最终得分"}
MAIN_DEDUCTIONS = 10
FAILING_GRADES = ("差", "不达标")


def _leaves(round_: Round, skipped: set[str]) -> list[Indicator]:
    parents = {i.parent_id for i in round_.scheme.indicators}
    return [
        i
        for i in round_.scheme.indicators
        if i.id not in parents and i.kind != "veto" and i.code not in skipped
    ]


def letter_content(
    session: Session, round_: Round, assessment: DistrictAssessment, stage: str
) -> LetterContent:
    """告知书 at *stage*: ``verified`` (with appeal rights) or ``final``."""
    scores = scores_of(session, round_, assessment)
    shown = ["self", "verified"] + (["final"] if stage == "final" else [])
    evidence: dict[int, list[str]] = {}
    for file in session.scalars(
        select(EvidenceFile).where(EvidenceFile.assessment_id == assessment.id).order_by(EvidenceFile.id)
    ):
        if file.indicator_id is not None:
            evidence.setdefault(file.indicator_id, []).append(file.original_name)
    indicators, deductions = [], []
    for indicator in _leaves(round_, scores.not_assessed):
        leaf = {s: scores.leaf(s, indicator.code) for s in shown}
        indicators.append(
            IndicatorLine(
                indicator.code, indicator.name, indicator.max_points, {s: leaf[s].score for s in shown}
            )
        )
        for d in leaf[stage].deductions:
            if d.amount:
                deductions.append(
                    DeductionLine(
                        indicator.code, indicator.name, d.amount, d.reason, evidence.get(indicator.id, [])
                    )
                )
    return LetterContent(
        round_title=round_.title,
        period=round_.period,
        district=assessment.district.name,
        stage=stage,
        stages=[(s, STAGE_COLUMNS[s]) for s in shown],
        indicators=indicators,
        totals={s: scores.total(s) for s in shown},
        grade=scores.grade(stage),
        deductions=deductions,
        self_overdue=assessment.self_overdue,
    )


def ranking_of(session: Session, round_: Round) -> tuple[list[str], list[RankingLine]]:
    """The first-level indicator names and each district's stored result, in rank order."""
    tops = [i for i in round_.scheme.indicators if i.parent_id is None and i.kind == "scored"]
    ranking = [
        RankingLine(
            rank=r.rank,
            district=r.district.name,
            total=r.total,
            first_level=[Decimal(r.first_level.get(t.code, "0")) for t in tops],
            grade=r.grade,
            veto="；".join(r.veto_reasons) if r.failed or r.veto_reasons else "",
        )
        for r in results_of(session, round_.id)
    ]
    return [t.name for t in tops], ranking


def circular_content(session: Session, round_: Round) -> CircularContent:
    """通报: ranking, first-level scores, grades, vetoes, the main deductions city-wide."""
    names, ranking = ranking_of(session, round_)
    results = results_of(session, round_.id)
    lost: dict[str, tuple[str, int, Decimal]] = {}
    for assessment in assessments_of(session, round_.id):
        scores = scores_of(session, round_, assessment)
        for indicator in _leaves(round_, scores.not_assessed):
            leaf = scores.leaf("final", indicator.code)
            points = leaf.max_points - leaf.score if indicator.kind == "scored" else Decimal(0)
            if points > 0:
                name, count, total = lost.get(indicator.code, (indicator.name, 0, Decimal(0)))
                lost[indicator.code] = (name, count + 1, total + points)
    main = sorted(((code, *v) for code, v in lost.items()), key=lambda row: (-row[3], row[0]))[
        :MAIN_DEDUCTIONS
    ]
    rectification = ["各区对本期扣分事项逐项整改，整改情况于下一考核期自评时一并报送，并附整改前后对比材料。"]
    for r in results:
        if r.failed or r.grade in FAILING_GRADES:
            why = "一票否决" if r.failed else f"等次为“{r.grade}”"
            rectification.append(f"{r.district.name}本期{why}，须于 10 个工作日内报送专项整改报告。")
    return CircularContent(
        round_title=round_.title,
        period=round_.period,
        first_level_names=names,
        ranking=ranking,
        main_deductions=main,
        rectification=rectification,
        ranking_rule=round_.scheme.vetoed_rank_label,
    )


def decision_content(session: Session, round_: Round, assessment: DistrictAssessment) -> DecisionContent:
    """申诉复核决定书: every decided appeal of the district, with the score before and after."""
    scores = scores_of(session, round_, assessment)
    items = []
    for appeal in appeals_of(session, assessment.id):
        if appeal.decision == "pending":
            continue
        indicator = appeal.revision.indicator
        items.append(
            DecisionItem(
                code=indicator.code,
                name=indicator.name,
                appeal_reason=appeal.reason,
                decision=appeal.decision_label,
                decision_reason=appeal.decision_reason,
                before=scores.leaf("verified", indicator.code).score,
                after=scores.leaf("final", indicator.code).score,
            )
        )
    return DecisionContent(round_title=round_.title, district=assessment.district.name, items=items)
