"""Scores computed from records, never typed as totals.

Arithmetic is Decimal; rounding (two decimals, half-up) is applied once per
indicator, and parents are sums of their rounded children.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from app.schemes.models import Indicator, Scheme
from app.scoring.models import ScoreEntry

# Which entry stages count toward the score at each assessment stage.
SCORE_STAGES: dict[str, tuple[str, ...]] = {
    "self": ("self",),
    "verified": ("self", "verify"),
    "final": ("self", "verify", "appeal"),
}
SCORE_STAGE_LABELS = {"self": "自评分", "verified": "核查分", "final": "最终得分"}
QUANTUM = Decimal("0.01")
ZERO = Decimal(0)


def quantize(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, rounding=ROUND_HALF_UP)


@dataclass
class IndicatorScore:
    indicator: Indicator
    scores: dict[str, Decimal]
    lost: dict[str, Decimal]
    entries: list[ScoreEntry] = field(default_factory=list)


@dataclass
class AssessmentScores:
    leaves: list[IndicatorScore]
    groups: dict[int, dict[str, Decimal]]
    totals: dict[str, Decimal]

    def leaf(self, indicator_id: int) -> IndicatorScore:
        return next(s for s in self.leaves if s.indicator.id == indicator_id)

    def first_level(self, scheme: Scheme, stage: str = "final") -> dict[str, Decimal]:
        return {i.code: self.groups[i.id][stage] for i in scheme.first_level}


def compute(scheme: Scheme, entries: Iterable[ScoreEntry], include_drafts: bool = False) -> AssessmentScores:
    by_indicator: dict[int, list[ScoreEntry]] = defaultdict(list)
    for entry in entries:
        if entry.is_draft and not include_drafts:
            continue
        by_indicator[entry.indicator_id].append(entry)

    leaves: list[IndicatorScore] = []
    groups: dict[int, dict[str, Decimal]] = {}
    for indicator in scheme.scored_leaves:
        own = sorted(by_indicator.get(indicator.id, []), key=lambda e: (e.recorded_at, e.id or 0))
        scores, lost = {}, {}
        for stage, counted in SCORE_STAGES.items():
            deducted = sum((e.amount for e in own if e.stage in counted), ZERO)
            score = min(max(indicator.max_points - deducted, ZERO), indicator.max_points)
            scores[stage] = quantize(score)
            lost[stage] = quantize(indicator.max_points - score)
        leaves.append(IndicatorScore(indicator, scores, lost, own))
        groups[indicator.id] = scores

    children: dict[int | None, list[Indicator]] = defaultdict(list)
    for indicator in scheme.indicators:
        children[indicator.parent_id].append(indicator)

    def group_score(indicator: Indicator) -> dict[str, Decimal]:
        if indicator.id in groups:
            return groups[indicator.id]
        sums = {stage: ZERO for stage in SCORE_STAGES}
        for child in children.get(indicator.id, []):
            if child.kind != "scored":
                continue
            for stage, value in group_score(child).items():
                sums[stage] += value
        groups[indicator.id] = sums
        return sums

    totals = {stage: ZERO for stage in SCORE_STAGES}
    for top in scheme.first_level:
        for stage, value in group_score(top).items():
            totals[stage] += value
    return AssessmentScores(leaves, groups, totals)


def competition_ranks(totals: Sequence[tuple[int, Decimal]]) -> dict[int, int]:
    """Standard competition ranking: equal totals share a rank, the next rank skips (1, 1, 3)."""
    ordered = sorted(totals, key=lambda item: item[1], reverse=True)
    ranks: dict[int, int] = {}
    previous: Decimal | None = None
    rank = 0
    for position, (key, total) in enumerate(ordered, start=1):
        if total != previous:
            rank = position
            previous = total
        ranks[key] = rank
    return ranks
