from __future__ import annotations

from decimal import Decimal

import pytest

from app.scoring.annual import RoundScore, annual_result, annual_results, assessed_in


@pytest.mark.parametrize(
    ("frequency", "period", "expected"),
    [
        ("monthly", "2026-01", True),
        ("quarterly", "2026-02", False),
        ("quarterly", "2026-03", True),
        ("quarterly", "2026-12", True),
        ("annual", "2026-11", False),
        ("annual", "2026-12", True),
        ("per_event", "2026-05", True),
        ("", "2026-05", True),
    ],
)
def test_frequency_decides_which_rounds_assess_an_indicator(
    frequency: str, period: str, expected: bool
) -> None:
    assert assessed_in(frequency, period) is expected


def test_mean_of_rounds_scaled_to_the_scheme_total() -> None:
    rounds = [
        RoundScore("2026-01", Decimal("45"), Decimal("50")),  # a month with only monthly indicators: 90 %
        RoundScore("2026-03", Decimal("60"), Decimal("75")),  # a quarter end: 80 %
    ]
    assert annual_result(rounds) == Decimal("63.75")  # (0.9 + 0.8) / 2 × 75
    assert annual_result(rounds, rule="pooled") == Decimal("63.00")  # 105 / 125 × 75
    assert annual_result(rounds, rule="latest") == Decimal("60.00")


def test_order_of_rounds_and_empty_years() -> None:
    a = RoundScore("2026-02", Decimal("70"), Decimal("75"))
    b = RoundScore("2026-01", Decimal("74"), Decimal("75"))
    assert annual_result([a, b], rule="latest") == annual_result([b, a], rule="latest") == Decimal("70.00")
    assert annual_result([]) is None
    assert annual_results({"吴江区": [a], "姑苏区": []}) == {"吴江区": Decimal("70.00"), "姑苏区": None}
    with pytest.raises(ValueError, match="未知"):
        annual_result([a], rule="median")
