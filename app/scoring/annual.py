"""Which rounds assess an indicator, and the year's result for the comprehensive assessment.

A monthly round assesses only the indicators due that month, so its maximum may be below the
scheme total; every round is scaled to the scheme total before rounds are combined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

QUARTER_ENDS = frozenset({3, 6, 9, 12})
AGGREGATION_RULES = {
    "mean_scaled": "各轮得分折算为总分制后取平均",
    "pooled": "全年得分合计 ÷ 全年满分合计 × 总分",
    "latest": "取年内最后一轮（折算为总分制）",
}


def assessed_in(frequency: str, period: str) -> bool:
    """Whether an indicator of *frequency* is assessed in the round of *period* (YYYY-MM)."""
    month = int(period[5:7])
    if frequency == "quarterly":
        return month in QUARTER_ENDS
    if frequency == "annual":
        return month == 12
    return True  # monthly, per event (scored whenever facts are recorded), or unspecified


@dataclass(frozen=True)
class RoundScore:
    period: str
    total: Decimal
    maximum: Decimal  # the round's own maximum: the sum of the indicators it assessed


def annual_result(
    rounds: Sequence[RoundScore],
    scheme_total: Decimal = Decimal(75),
    rule: str = "mean_scaled",
    places: int = 2,
) -> Decimal | None:
    """One district's year result from its rounds; None when it had no assessed round."""
    counted = sorted((r for r in rounds if r.maximum > 0), key=lambda r: r.period)
    if not counted:
        return None
    if rule == "mean_scaled":
        value = sum((r.total / r.maximum for r in counted), Decimal(0)) / len(counted) * scheme_total
    elif rule == "pooled":
        value = sum((r.total for r in counted), Decimal(0)) / sum((r.maximum for r in counted), Decimal(0))
        value *= scheme_total
    elif rule == "latest":
        value = counted[-1].total / counted[-1].maximum * scheme_total
    else:
        raise ValueError(f"未知的年度汇总规则 {rule}")
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def annual_results(
    by_district: Mapping[str, Sequence[RoundScore]],
    scheme_total: Decimal = Decimal(75),
    rule: str = "mean_scaled",
) -> dict[str, Decimal | None]:
    return {district: annual_result(rounds, scheme_total, rule) for district, rounds in by_district.items()}
