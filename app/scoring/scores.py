"""Scores of a district at each stage, computed by the rules engine from the stored facts.

A stage's facts for an indicator are those of the latest stage up to it that revised the
indicator: the self-report is the base, a verification adjustment replaces it, a review
decision replaces that. Nothing here writes; the same inputs always give the same scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.rounds.models import Round
from app.schemes.models import Indicator, Scheme
from app.scoring import engine
from app.scoring.annual import assessed_in
from app.scoring.models import FACT_STAGES, Fact, IndicatorRevision
from app.scoring.rule_reading import parse_rules
from app.scoring.rules import IndicatorRules, ManualRules

SCORE_STAGES: dict[str, tuple[str, ...]] = {
    "self": ("self",),
    "verified": ("self", "verify"),
    "final": ("self", "verify", "appeal", "correct"),
}
SCORE_STAGE_LABELS = {"self": "自评分", "verified": "核查分", "final": "最终得分"}


def indicator_rules(indicator: Indicator) -> IndicatorRules:
    return parse_rules(indicator.rules, indicator.max_points, indicator.code)


# A scheme used by a round is frozen, so its parsed tree is kept per process.
_LOCKED_NODES: dict[tuple[int, object, str | None], list[engine.SchemeNode]] = {}


def assessed(indicator: Indicator, period: str | None) -> bool:
    """Scored in this system in the round of *period* (its frequency, and the 系统考核 flag)."""
    return indicator.assessed_in_system and (period is None or assessed_in(indicator.frequency, period))


def scheme_nodes(scheme: Scheme, period: str | None = None) -> list[engine.SchemeNode]:
    key = (scheme.id, scheme.locked_at, period)
    if scheme.is_locked and key in _LOCKED_NODES:
        return _LOCKED_NODES[key]
    nodes = _build_nodes(scheme, period)
    if scheme.is_locked:
        _LOCKED_NODES[key] = nodes
    return nodes


def _build_nodes(scheme: Scheme, period: str | None) -> list[engine.SchemeNode]:
    by_id = {i.id: i for i in scheme.indicators}
    parents = {i.parent_id for i in scheme.indicators}

    def rules(i: Indicator) -> IndicatorRules | None:
        if i.id in parents:
            return None
        if not assessed(i, period) and i.kind == "scored":
            # Not assessed this period: no facts are asked for and the indicator keeps its points
            # (bonus and veto items simply get no facts, so they add and remove nothing).
            return ManualRules(code=i.code, max_points=i.max_points)
        return indicator_rules(i)

    return [
        engine.SchemeNode(
            code=i.code,
            name=i.name,
            max_points=i.max_points,
            kind=i.kind,
            parent=by_id[i.parent_id].code if i.parent_id else None,
            rules=rules(i),
        )
        for i in scheme.indicators
    ]


def effective_facts(
    facts: Sequence[Fact], revisions: Sequence[IndicatorRevision], stage: str, drafts: bool = False
) -> list[Fact]:
    """The facts that count at *stage*, per indicator from the latest stage that revised it."""
    counted = SCORE_STAGES[stage]
    order = {s: n for n, s in enumerate(FACT_STAGES)}
    latest: dict[int, str] = {}
    for revision in revisions:
        if revision.stage == "self" or revision.stage not in counted or (revision.is_draft and not drafts):
            continue
        current = latest.get(revision.indicator_id, "self")
        if order[revision.stage] > order[current]:
            latest[revision.indicator_id] = revision.stage
    return [f for f in facts if f.stage == latest.get(f.indicator_id, "self") and (drafts or not f.is_draft)]


def rounding_of(scheme: Scheme) -> engine.Rounding:
    return engine.Rounding(places=scheme.rounding_places, mode=scheme.rounding_mode)


def to_engine(fact: Any, fact_id: int | None = None, code: str | None = None) -> engine.Fact:
    """A stored fact (or a FactInput with a temporary id and the indicator code) for the engine."""
    return engine.Fact.of(
        fact,
        fact.id if fact_id is None else fact_id,
        fact.indicator.code if code is None else code,
    )


@dataclass
class AssessmentScores:
    """A district's scores at each stage, with the facts and revisions they came from."""

    scheme: Scheme
    stages: dict[str, engine.SchemeScore]
    counted: dict[str, list[Fact]]  # the facts each stage's score was computed from
    revisions: list[IndicatorRevision]
    not_assessed: set[str]  # codes this round's period does not assess

    @property
    def names(self) -> dict[str, str]:
        return {i.code: i.name for i in self.scheme.indicators}

    def total(self, stage: str) -> Decimal:
        return self.stages[stage].total

    def leaf(self, stage: str, code: str) -> engine.IndicatorScore:
        return self.stages[stage].leaves[code]

    def facts_at(self, stage: str, indicator_id: int) -> list[Fact]:
        return [f for f in self.counted[stage] if f.indicator_id == indicator_id]

    def revision(self, stage: str, indicator_id: int) -> IndicatorRevision | None:
        return next((r for r in self.revisions if r.stage == stage and r.indicator_id == indicator_id), None)

    def grade(self, stage: str = "final") -> str:
        bands = [(Decimal(t), g) for t, g in self.scheme.grade_bands] if self.scheme.grade_bands else None
        score = self.stages[stage]
        return score.grade(bands) if bands else score.grade()


def score_assessment(
    scheme: Scheme,
    facts: Sequence[Fact],
    revisions: Sequence[IndicatorRevision],
    drafts: bool = False,
    period: str | None = None,
) -> AssessmentScores:
    nodes = scheme_nodes(scheme, period)
    not_assessed = {i.id for i in scheme.indicators if not assessed(i, period)}
    facts = [f for f in facts if f.indicator_id not in not_assessed]
    rounding = rounding_of(scheme)
    counted = {stage: effective_facts(facts, revisions, stage, drafts) for stage in SCORE_STAGES}
    # Each stored fact converted once, and each leaf scored once per distinct facts: the stages
    # mostly count the same facts (only revised indicators differ).
    converted = {id(f): to_engine(f) for f in facts}
    leaf_scores: engine.LeafScores = {}
    stages = {
        stage: engine.score_scheme(
            nodes, scheme.total_points, [converted[id(f)] for f in counted[stage]], rounding, leaf_scores
        )
        for stage in SCORE_STAGES
    }
    skipped = {i.code for i in scheme.indicators if i.id in not_assessed}
    return AssessmentScores(scheme, stages, counted, list(revisions), skipped)


def facts_of(session: Session, assessment_id: int) -> list[Fact]:
    return list(session.scalars(select(Fact).where(Fact.assessment_id == assessment_id).order_by(Fact.id)))


def revisions_of(session: Session, assessment_id: int) -> list[IndicatorRevision]:
    return list(
        session.scalars(
            select(IndicatorRevision)
            .where(IndicatorRevision.assessment_id == assessment_id)
            .order_by(IndicatorRevision.id)
        )
    )


def load_scores(
    session: Session, round_: Round, assessment_id: int, drafts: bool = False
) -> AssessmentScores:
    """A district's scores in *round_*, by its scheme version and the indicators its period assesses."""
    facts, revisions = facts_of(session, assessment_id), revisions_of(session, assessment_id)
    return score_assessment(round_.scheme, facts, revisions, drafts, round_.period)
