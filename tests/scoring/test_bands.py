"""Tiered bands as published tables write them (0–60, 61–70): converted once, when entered."""

from __future__ import annotations

from decimal import ROUND_DOWN, Context, Decimal, localcontext
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.scoring.bands import BandEntry, enter_bands
from app.scoring.engine import Fact, SchemeNode, score_indicator
from app.scoring.rule_reading import parse_rules

D = Decimal
PUBLISHED = {
    "method": "tiered",
    "bands": [
        {"min": "0", "max": "60", "points": "0.5"},
        {"min": "61", "max": "70", "points": "1"},
        {"min": "71", "max": "80", "points": "1.5"},
        {"min": "81", "max": "100", "points": "2"},
    ],
}


def score(rules: Any, value: str) -> tuple[Decimal, str]:
    """The points and the explanation for *value* under *rules* read back as stored."""
    node = SchemeNode("ZF0303", "满意度测评均分", D(2), rules=parse_rules(rules, D(2), "ZF0303"))
    result = score_indicator(node, [Fact(1, "ZF0303", "value", value=D(value))])
    return result.score, result.deductions[0].reason


def bounds(rules: Any) -> list[tuple[str, str]]:
    return [(str(b["min"]), str(b["max"])) for b in rules["bands"]]


def test_published_integer_bands_are_stored_half_open_so_60_5_is_scored() -> None:
    entry = enter_bands(PUBLISHED, "ZF0303")
    assert bounds(entry.rules) == [("0", "61"), ("61", "71"), ("71", "81"), ("81", "100")]
    assert [b["points"] for b in entry.rules["bands"]] == ["0.5", "1", "1.5", "2"]  # as typed
    assert entry.notes == (
        "指标 ZF0303：分档按公布表格“0–60、61–70”这样两端都含的整数写法录入，已换算为下限含、上限不含的"
        "区间保存：0–60 记为 [0, 61)、61–70 记为 [61, 71)、71–80 记为 [71, 81)，最高一档 [81, 100] 含上限；"
        "60.5 这样的数值因此计入 0–60 档，不会落在两档之间得 0 分",
    )
    assert entry.warnings == ()
    assert PUBLISHED["bands"][0]["max"] == "60"  # the input is not changed in place
    assert score(entry.rules, "60.5") == (D("0.50"), "满意度测评均分 60.5 落在 [0, 61) 档，得 0.50 分")
    assert score(entry.rules, "61")[0] == D("1.00") and score(entry.rules, "70.99")[0] == D("1.00")
    assert score(entry.rules, "100")[0] == D("2.00") and score(entry.rules, "100.5")[0] == D("0.00")


def test_rules_read_back_are_never_reinterpreted() -> None:
    # Bands stored before the conversion existed keep their meaning ([0, 60), [61, 70) …): a
    # recomputation gives the published scores, 60 and 60.5 included.
    assert score(PUBLISHED, "60.5") == (D("0.00"), "满意度测评均分 60.5 不在任何分档内，得 0 分")
    assert score(PUBLISHED, "60")[0] == D("0.00") and score(PUBLISHED, "59")[0] == D("0.50")
    assert score(PUBLISHED, "61")[0] == D("1.00")


def test_half_open_bands_are_kept_as_typed_without_a_word() -> None:
    rules = {
        "method": "tiered",
        "bands": [
            {"min": 0, "max": 60, "points": "0.5"},
            {"min": 60, "max": 90, "points": 1},
            {"min": 90, "max": 100, "points": 2},
        ],
    }
    assert enter_bands(rules, "ZF0303") == enter_bands(rules, "ZF0303", rules)
    entry = enter_bands(rules, "ZF0303")
    assert entry.rules is rules and entry.notes == () and entry.warnings == ()
    single = {"method": "tiered", "bands": [{"min": 0, "max": 100, "points": 2}]}
    assert enter_bands(single, "ZF0303").rules is single


def test_only_real_gaps_are_warned_about_and_kept() -> None:
    rules = {
        "method": "tiered",
        "bands": [{"min": 0, "max": 59.5, "points": 1}, {"min": 60, "max": 100, "points": 2}],
    }
    entry = enter_bands(rules, "ZF0303")
    assert entry.rules is rules and entry.notes == ()
    assert entry.warnings == (
        "指标 ZF0303：分档第 1 档 [0, 59.5) 与第 2 档 [60, 100] 之间有空档，59.5 ≤ 数值 < 60 不在任何一档，"
        "得 0 分；如非有意，请修改分档",
    )
    # A gap wider than the published notation's one point is a real gap too, even in whole numbers.
    wide = {
        "method": "tiered",
        "bands": [
            {"min": 0, "max": 60, "points": 0},
            {"min": 61, "max": 70, "points": 1},
            {"min": 75, "max": 100, "points": 2},
        ],
    }
    entry = enter_bands(wide, "ZF0303")
    assert bounds(entry.rules) == [("0", "61"), ("61", "70"), ("75", "100")]
    assert (
        len(entry.notes) == 1 and "0–60 记为 [0, 61)" in entry.notes[0] and "61–70 记为" not in entry.notes[0]
    )
    assert entry.warnings == (
        "指标 ZF0303：分档第 2 档 [61, 70) 与第 3 档 [75, 100] 之间有空档，70 ≤ 数值 < 75 不在任何一档，"
        "得 0 分；如非有意，请修改分档",
    )


def test_bands_resubmitted_as_stored_keep_their_meaning() -> None:
    """Opening an indicator whose stored bands have the published gaps and saving it unchanged
    (say, to rename it) leaves them as they are; changing the bands converts them."""
    stored = PUBLISHED
    again = enter_bands({**PUBLISHED, "bands": [dict(b) for b in PUBLISHED["bands"]]}, "ZF0303", stored)
    assert bounds(again.rules) == bounds(PUBLISHED) and again.notes == ()
    assert len(again.warnings) == 3 and "60 ≤ 数值 < 61 不在任何一档" in again.warnings[0]
    changed = {**PUBLISHED, "bands": [*PUBLISHED["bands"][:3], {"min": "81", "max": "100", "points": "1.8"}]}
    assert bounds(enter_bands(changed, "ZF0303", stored).rules)[0] == ("0", "61")


def test_other_rules_and_unreadable_bands_pass_through() -> None:
    deduct = {"method": "deduct", "amount": 1}
    assert enter_bands(deduct, "ZF0101").rules is deduct and enter_bands(None, "ZF0101").rules is None
    broken = {"method": "tiered", "bands": [{"min": "零", "max": 60, "points": 1}, {"min": 61, "max": 70}]}
    assert enter_bands(broken, "ZF0303") == enter_bands(broken, "ZF0303", None)
    assert enter_bands(broken, "ZF0303").rules is broken  # parse_rules says what is wrong
    assert enter_bands({"method": "tiered", "bands": "0-60"}, "ZF0303").notes == ()
    # A bound no table has (1E+999999999 is a finite Decimal) is left to parse_rules, unspelled.
    for bound in ("1E+999999999", "-1E+999999999", "1E-999999999"):
        huge = {
            "method": "tiered",
            "bands": [{"min": "0", "max": bound, "points": 1}, {"min": 61, "max": 70}],
        }
        assert enter_bands(huge, "ZF0303") == BandEntry(huge)


def test_the_callers_decimal_context_changes_nothing() -> None:
    expected = enter_bands(PUBLISHED, "ZF0303")
    with localcontext(Context(prec=1, rounding=ROUND_DOWN)):
        assert enter_bands(PUBLISHED, "ZF0303") == expected


@st.composite
def published_tables(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """Whole-number tiers as a table prints them: each starts one above where the last ended."""
    start = draw(st.integers(-5, 50))
    widths = draw(st.lists(st.integers(0, 15), min_size=1, max_size=6))  # 60–60 is a one-value tier
    tiers, low = [], start
    for n, width in enumerate(widths):
        high = low + width + (1 if n == len(widths) - 1 else 0)  # the top tier is a real range
        tiers.append((low, high, n))
        low = high + 1
    return tiers


@settings(max_examples=150, deadline=None)
@given(published_tables(), st.integers(0, 99))
def test_every_value_within_a_published_table_falls_in_the_tier_of_its_whole_part(
    tiers: list[tuple[int, int, int]], hundredths: int
) -> None:
    rules = {
        "method": "tiered",
        "bands": [{"min": low, "max": high, "points": str(n)} for low, high, n in tiers],
    }
    entry = enter_bands(rules, "X1")
    top = len(tiers) - 1
    parsed = parse_rules(entry.rules, D(top), "X1")
    assert entry.warnings == ()
    node = SchemeNode("X1", "数值", D(top), rules=parsed)
    fraction = D(hundredths).scaleb(-2)
    for low, high, n in tiers:
        for whole in (low, high):  # the top tier's max is its last value: nothing lies above it
            value = D(whole) + (fraction if whole < tiers[-1][1] else 0)
            got = score_indicator(node, [Fact(1, "X1", "value", value=value)])
            assert got.score == D(n), (value, got.deductions)
