from __future__ import annotations

from decimal import ROUND_DOWN, Context, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scoring.annual import AGGREGATION_RULES, RoundScore, annual_result, annual_results, assessed_in


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


# ── exactness: one rounding of the exact value, whatever the decimal context ────────────────────

CENTS = st.integers(0, 10_000).map(lambda n: Decimal(n).scaleb(-2))  # 0.00 … 100.00


@st.composite
def years(draw: st.DrawFn) -> list[RoundScore]:
    """One to twelve rounds in distinct months, each total within its own maximum (two decimals)."""
    months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=12, unique=True))
    rounds = []
    for month in months:
        maximum = draw(CENTS.filter(lambda d: d > 0))
        total = draw(CENTS.filter(lambda d, top=maximum: d <= top))
        rounds.append(RoundScore(f"2026-{month:02d}", total, maximum))
    return rounds


def oracle(rounds: list[RoundScore], scheme_total: Decimal, rule: str, places: int) -> Decimal:
    """The year's result by rational arithmetic, rounded half-up once by integer division."""
    ordered = sorted(rounds, key=lambda r: r.period)
    if rule == "mean_scaled":
        value = sum(Fraction(r.total) / Fraction(r.maximum) for r in ordered) / len(ordered)
    elif rule == "pooled":
        value = sum(Fraction(r.total) for r in ordered) / sum(Fraction(r.maximum) for r in ordered)
    else:
        value = Fraction(ordered[-1].total) / Fraction(ordered[-1].maximum)
    value *= Fraction(scheme_total)
    units, rest = divmod(value.numerator * 10**places, value.denominator)  # value ≥ 0
    if 2 * rest >= value.denominator:
        units += 1
    with localcontext(Context(prec=50)):
        return Decimal(units).scaleb(-places)


@settings(max_examples=200, deadline=None)
@given(
    years(),
    CENTS.filter(lambda d: d > 0),
    st.sampled_from(sorted(AGGREGATION_RULES)),
    st.integers(0, 4),
    st.integers(1, 6),
)
def test_the_year_result_is_the_exact_value_rounded_once_half_up(
    rounds: list[RoundScore], scheme_total: Decimal, rule: str, places: int, precision: int
) -> None:
    expected = oracle(rounds, scheme_total, rule, places)
    result = annual_result(rounds, scheme_total, rule, places)
    assert result == expected and result.as_tuple().exponent == -places  # 70.00, never 70
    # A caller's low precision (or another rounding mode) must change nothing: no step of the
    # computation may round in the thread's context.
    with localcontext(Context(prec=precision, rounding=ROUND_DOWN)):
        again = annual_result(rounds, scheme_total, rule, places)
    assert again == expected and str(again) == str(result)


@settings(max_examples=200, deadline=None)
@given(CENTS.filter(lambda d: d <= 75), CENTS.filter(lambda d: d <= 75))
def test_a_mean_on_a_half_cent_rounds_up(first: Decimal, second: Decimal) -> None:
    rounds = [RoundScore("2026-01", first, Decimal(75)), RoundScore("2026-02", second, Decimal(75))]
    cents = int((first + second) * 100)  # the mean is cents / 2 hundredths, exactly
    expected = Decimal((cents + 1) // 2).scaleb(-2)
    assert annual_result(rounds) == expected


def test_two_rounds_of_74_70_and_67_27_give_70_99() -> None:
    rounds = [
        RoundScore("2026-11", Decimal("74.70"), Decimal(75)),
        RoundScore("2026-12", Decimal("67.27"), Decimal(75)),
    ]
    assert annual_result(rounds) == Decimal("70.99")  # (74.70 + 67.27) / 2 = 70.985 exactly
    with localcontext(Context(prec=4)):
        assert annual_result(rounds) == Decimal("70.99")
    # The other rules agree here (same maximum each month), and stay as they were.
    assert annual_result(rounds, rule="pooled") == Decimal("70.99")
    assert annual_result(rounds, rule="latest") == Decimal("67.27")
