"""Which rounds assess an indicator, and the year's result for the comprehensive assessment.

A monthly round assesses only the indicators due that month, so its maximum may be below the
scheme total; every round is scaled to the scheme total before rounds are combined.

The year's result is computed exactly (as a fraction) and rounded once, half-up: a Decimal
division would round each quotient to the caller's context precision first, and a mean that lies
exactly on a half cent (74.70 and 67.27 → 70.985) would then come out a cent low, or differ with
the thread's decimal settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

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
    total = Fraction(scheme_total)
    if rule == "mean_scaled":
        value = sum((Fraction(r.total) / Fraction(r.maximum) for r in counted), Fraction(0))
        value = value / len(counted) * total
    elif rule == "pooled":
        value = sum((Fraction(r.total) for r in counted), Fraction(0))
        value = value / sum((Fraction(r.maximum) for r in counted), Fraction(0)) * total
    elif rule == "latest":
        value = Fraction(counted[-1].total) / Fraction(counted[-1].maximum) * total
    else:
        raise ValueError(f"未知的年度汇总规则 {rule}")
    return round_half_up(value, places)


def round_half_up(value: Fraction, places: int) -> Decimal:
    """*value* rounded once to *places* decimals, halves away from zero, with exactly *places*
    decimals (70.00, not 70). Integer arithmetic only, so no decimal context takes part."""
    scaled = abs(value) * 10**places
    units = scaled.numerator // scaled.denominator
    if 2 * (scaled - units) >= 1:
        units += 1
    sign = "-" if value < 0 and units else ""
    # Constructing a Decimal from text is exact whatever the context's precision.
    return Decimal(f"{sign}{units}E{-places}")


def annual_results(
    by_district: Mapping[str, Sequence[RoundScore]],
    scheme_total: Decimal = Decimal(75),
    rule: str = "mean_scaled",
) -> dict[str, Decimal | None]:
    return {district: annual_result(rounds, scheme_total, rule) for district, rounds in by_district.items()}
