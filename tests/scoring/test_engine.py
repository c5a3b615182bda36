"""The scoring engine on the cases of the domain notes: each method, caps, bonus, veto, rounding."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import pytest

from app.scoring.engine import (
    Fact,
    IndicatorScore,
    Rounding,
    SchemeNode,
    grade,
    rank,
    score_indicator,
    score_scheme,
)
from app.scoring.rule_reading import parse_rules
from tests.scoring import TOTAL_2026, nodes_2026

D = Decimal


def leaf(code: str, max_points: str, rules: dict[str, Any] | None, name: str = "指标") -> SchemeNode:
    return SchemeNode(code, name, D(max_points), rules=parse_rules(rules, D(max_points), code))


def occurrences(code: str, *finders: str | None, start: int = 1, rectified: bool = True) -> list[Fact]:
    return [
        Fact(start + i, code, "occurrence", found_by=f, rectified=rectified) for i, f in enumerate(finders)
    ]


def rules_of(score: IndicatorScore) -> dict[str, Decimal]:
    return {d.rule: d.amount for d in score.deductions}


def rate(code: str, numerator: str, denominator: str, fact_id: int = 1) -> Fact:
    return Fact(fact_id, code, "rate", numerator=D(numerator), denominator=D(denominator))


# ── deduct ─────────────────────────────────────────────────────────────────────


def test_per_occurrence_deduction_stops_at_the_cap() -> None:
    node = leaf("ZF0201", "1", {"method": "deduct", "amount": "0.2"})  # 每处扣0.2分，扣完为止
    three = score_indicator(node, occurrences("ZF0201", None, None, None))
    assert three.score == D("0.40")
    assert three.deductions[0].reason == "发现 3 起，每起扣 0.20 分"
    seven = score_indicator(node, occurrences("ZF0201", *[None] * 7))
    assert seven.score == D("0.00")
    assert rules_of(seven) == {"deduct": D("1.4"), "cap": D("-0.4")}
    assert "扣完为止" in seven.deductions[-1].reason


def test_a_lower_cap_limits_the_occurrences_but_not_the_extras() -> None:
    node = leaf(
        "ZF0302",
        "2",
        {
            "method": "deduct",
            "amount": "0.1",
            "cap": "0.5",
            "extras": [{"key": "falsified", "label": "弄虚作假", "amount": "1"}],
        },
    )
    facts = [*occurrences("ZF0302", *[None] * 8), Fact(20, "ZF0302", "extra", item="falsified")]
    score = score_indicator(node, facts)
    assert score.score == D("0.50")  # 2 − 0.5 (capped occurrences) − 1 (fraud)
    assert rules_of(score) == {"deduct": D("0.8"), "cap": D("-0.3"), "extra:falsified": D(1)}


def test_amount_depends_on_who_found_the_problem() -> None:
    node = leaf(
        "ZF0103", "4", {"method": "deduct", "amount": "0.1", "by_finder": {"city": "0.3", "district": "0.2"}}
    )
    score = score_indicator(node, occurrences("ZF0103", "city", "district", "city", "media"))
    assert score.score == D("3.10")
    assert [(d.rule, d.amount, d.reason, d.fact_ids) for d in score.deductions] == [
        ("deduct.city", D("0.6"), "市局检查发现 2 起，每起扣 0.30 分", (1, 3)),
        ("deduct.district", D("0.2"), "区级自查发现 1 起，每起扣 0.20 分", (2,)),
        ("deduct.media", D("0.1"), "媒体曝光发现 1 起，每起扣 0.10 分", (4,)),
    ]


def test_multipliers_for_higher_level_and_media_findings() -> None:
    node = leaf(
        "ZF0101", "6", {"method": "deduct", "amount": "1", "multipliers": {"superior": 2, "media": 3}}
    )
    score = score_indicator(node, occurrences("ZF0101", "city", "superior", "media"))
    assert score.score == D("0.00")
    assert rules_of(score) == {"deduct.city": 1, "deduct.media": 3, "deduct.superior": 2}
    assert "媒体曝光发现 1 起，每起扣 1.00 × 3 = 3.00 分" in [d.reason for d in score.deductions]


def test_unrectified_occurrences_cost_extra() -> None:
    node = leaf("DW03", "5", {"method": "deduct", "amount": "0.5", "unrectified_extra": "0.5"})
    facts = occurrences("DW03", "city", "city") + occurrences("DW03", "city", start=3, rectified=False)
    score = score_indicator(node, facts)
    assert score.score == D("3.00")
    unrectified = score.deductions[-1]
    assert (unrectified.rule, unrectified.amount, unrectified.fact_ids) == (
        "deduct.unrectified",
        D("0.5"),
        (3,),
    )
    assert unrectified.reason == "未按期整改 1 起，每起加扣 0.50 分"


# ── rate ───────────────────────────────────────────────────────────────────────

THRESHOLD = {"method": "rate", "mode": "threshold", "threshold": 95, "per_point": "0.3"}


def test_threshold_rate_loses_points_pro_rata() -> None:
    node = leaf("ZF0301", "6", THRESHOLD, name="按期处置率")
    score = score_indicator(node, [rate("ZF0301", "37", "40")])
    assert score.score == D("5.25")
    assert rules_of(score) == {"rate.below_threshold": D("0.75")}
    assert score.deductions[0].reason == (
        "按期处置率 92.50%（37/40），低于 95% 标准 2.50 个百分点，每个百分点扣 0.30 分，扣 0.75 分"
    )


def test_threshold_rate_at_or_above_the_threshold_keeps_full_points() -> None:
    node = leaf("ZF0301", "6", THRESHOLD)
    assert score_indicator(node, [rate("ZF0301", "95", "100")]).score == D("6.00")
    assert score_indicator(node, [rate("ZF0301", "120", "100")]).score == D("6.00")
    met = score_indicator(node, [rate("ZF0301", "19", "20")])
    assert rules_of(met) == {"rate.met": 0} and "达到 95% 标准" in met.deductions[0].reason


def test_threshold_rate_far_below_ends_at_zero_never_negative() -> None:
    node = leaf("ZF0301", "6", THRESHOLD)
    score = score_indicator(node, [rate("ZF0301", "10", "40")])
    assert score.score == D("0.00") and score.raw == 0
    assert rules_of(score) == {"rate.below_threshold": D("21.0"), "cap": D("-15.0")}


def test_rate_facts_are_pooled_over_the_period() -> None:
    node = leaf("ZF0301", "6", THRESHOLD)
    facts = [rate("ZF0301", "19", "20", 1), rate("ZF0301", "18", "20", 2)]  # 37/40 over two months
    assert score_indicator(node, facts).score == D("5.25")


def test_proportional_rate() -> None:
    node = leaf("ZF0102", "6", {"method": "rate", "mode": "proportional"})
    assert score_indicator(node, [rate("ZF0102", "90", "100")]).score == D("5.40")
    assert score_indicator(node, [rate("ZF0102", "130", "100")]).score == D("6.00")  # min(1, rate)
    third = score_indicator(
        leaf("ZF0303", "2", {"method": "rate", "mode": "proportional"}), [rate("ZF0303", "1", "3")]
    )
    assert third.score == D("0.67")


@pytest.mark.parametrize(("when", "expected"), [("full", "6.00"), ("zero", "0.00")])
def test_no_data_is_configurable_and_explained(when: str, expected: str) -> None:
    node = leaf("ZF0301", "6", {**THRESHOLD, "when_no_data": when}, name="按期处置率")
    for facts in ([], [rate("ZF0301", "0", "0")]):
        score = score_indicator(node, facts)
        assert score.score == D(expected)
        assert score.deductions[0].rule == "rate.no_data"
        assert "本期无统计数据（分母为 0）" in score.deductions[0].reason


# ── tiered, checklist, extras ──────────────────────────────────────────────────

BANDS = {
    "method": "tiered",
    "bands": [
        {"min": 0, "max": 60, "points": "0.5"},
        {"min": 60, "max": 70, "points": "0.8"},
        {"min": 70, "max": 90, "points": "1.5"},
        {"min": 90, "max": 100, "points": 2},
    ],
}


@pytest.mark.parametrize(
    ("value", "points", "rule"),
    [
        ("0", "0.50", "tiered.band"),
        ("59.99", "0.50", "tiered.band"),
        ("60", "0.80", "tiered.band"),
        ("89.9", "1.50", "tiered.band"),
        ("90", "2.00", "tiered.band"),
        ("100", "2.00", "tiered.band"),
        ("100.01", "0.00", "tiered.outside"),
        ("-1", "0.00", "tiered.outside"),
    ],
)
def test_tiered_bands_and_their_boundaries(value: str, points: str, rule: str) -> None:
    node = leaf("ZF0303", "2", BANDS, name="满意度测评均分")
    score = score_indicator(node, [Fact(1, "ZF0303", "value", value=D(value))])
    assert score.score == D(points)
    assert score.deductions[0].rule == rule


def test_tiered_explains_the_band_and_needs_one_value() -> None:
    node = leaf("ZF0303", "2", BANDS, name="满意度测评均分")
    score = score_indicator(node, [Fact(1, "ZF0303", "value", value=D(65))])
    assert score.deductions[0].reason == "满意度测评均分 65 落在 [60, 70) 档，得 0.80 分"
    assert score_indicator(node, []).deductions[0].rule == "tiered.no_data"
    with pytest.raises(ValueError, match="事实 #2（指标 ZF0303）：分档指标每期只能有一个数值"):
        score_indicator(
            node, [Fact(1, "ZF0303", "value", value=D(65)), Fact(2, "ZF0303", "value", value=D(70))]
        )


def test_checklist_scores_ticked_items() -> None:
    node = leaf(
        "ZF0202",
        "3",
        {
            "method": "checklist",
            "items": [
                {"key": "plan", "label": "方案", "points": 1},
                {"key": "staff", "label": "人员到岗", "points": 1},
                {"key": "records", "label": "台账", "points": 1},
            ],
        },
    )
    ticks = [Fact(i, "ZF0202", "check", item=key) for i, key in enumerate(["plan", "staff", "plan"], start=1)]
    score = score_indicator(node, ticks)
    assert score.score == D("2.00")
    assert [(d.rule, d.amount, d.reason) for d in score.deductions] == [
        ("checklist.missing:records", D(1), "未完成「台账」，扣 1.00 分")
    ]


def test_extras_come_on_top_and_never_below_zero() -> None:
    node = leaf(
        "DW05",
        "2",
        {
            "method": "checklist",
            "items": [
                {"key": "rules", "label": "制度", "points": 1},
                {"key": "ledger", "label": "台账", "points": 1},
            ],
            "extras": [
                {"key": "late", "label": "迟报", "amount": "0.5"},
                {"key": "missed", "label": "漏报", "amount": 1},
            ],
        },
    )
    ticks = [Fact(1, "DW05", "check", item="rules"), Fact(2, "DW05", "check", item="ledger")]
    late = [Fact(10 + i, "DW05", "extra", item="late") for i in range(2)]
    score = score_indicator(node, ticks + late)
    assert score.score == D("1.00")
    assert score.deductions[-1].reason == "迟报 2 次，每次扣 0.50 分"
    worse = score_indicator(
        node,
        [*ticks, *late, Fact(20, "DW05", "extra", item="missed"), Fact(21, "DW05", "extra", item="missed")],
    )
    assert worse.score == D("0.00")
    assert rules_of(worse)["floor"] == D(-1)  # 2 points left, 3 of extras


def test_unreported_case_empties_the_case_review_indicator() -> None:
    node = leaf(
        "ZF0401",
        "4",
        {
            "method": "rate",
            "mode": "proportional",
            "extras": [{"key": "unreported_case", "label": "抽查应报不报", "amount": 4}],
        },
    )
    facts = [rate("ZF0401", "9", "10"), Fact(2, "ZF0401", "extra", item="unreported_case")]
    score = score_indicator(node, facts)
    assert score.score == D("0.00")
    assert rules_of(score) == {"rate.proportional": D("0.4"), "extra:unreported_case": 4, "floor": D("-0.4")}


def test_manual_amounts_may_restore_points_but_stay_within_max() -> None:
    node = leaf("ZF0402", "2", None)
    facts = [
        Fact(1, "ZF0402", "manual", amount=D("1.5"), description="复议被撤销"),
        Fact(2, "ZF0402", "manual", amount=D("-0.5"), description="申诉撤销"),
    ]
    score = score_indicator(node, facts)
    assert score.score == D("1.00")
    assert [d.reason for d in score.deductions] == ["复议被撤销：扣 1.50 分", "申诉撤销：恢复 0.50 分"]
    over = score_indicator(node, [Fact(3, "ZF0402", "manual", amount=D(-1))])
    assert over.score == D("2.00") and rules_of(over)["ceiling"] == 1


# ── rounding ───────────────────────────────────────────────────────────────────


def test_rounding_happens_once_so_thirds_do_not_drift() -> None:
    node = leaf("ZF0402", "1", None)
    third = D(1) / D(3)
    facts = [Fact(i, "ZF0402", "manual", amount=third) for i in range(1, 4)]
    assert score_indicator(node, facts).score == D("0.00")  # rounding each third first would leave 0.01


def test_parents_add_rounded_leaves() -> None:
    third = {"method": "rate", "mode": "proportional"}
    nodes = [SchemeNode("A", "一级", D(2)), leaf("A1", "1", third), leaf("A2", "1", third)]
    nodes[1].parent = nodes[2].parent = "A"
    result = score_scheme(nodes, D(2), [rate("A1", "1", "3", 1), rate("A2", "1", "3", 2)])
    assert result.leaves["A1"].score == D("0.33") and result.groups["A"] == D("0.66") == result.total


@pytest.mark.parametrize(
    ("mode", "places", "expected"),
    [("half_up", 2, "5.25"), ("half_even", 2, "5.24"), ("down", 2, "5.24"), ("half_up", 1, "5.2")],
)
def test_rounding_modes(mode: str, places: int, expected: str) -> None:
    node = leaf("ZF0301", "6", None)
    score = score_indicator(node, [Fact(1, "ZF0301", "manual", amount=D("0.755"))], Rounding(places, mode))
    assert score.raw == D("5.245") and str(score.score) == expected


def test_callers_decimal_context_changes_nothing() -> None:
    node = leaf("ZF0303", "2", {"method": "rate", "mode": "proportional"})
    expected = score_indicator(node, [rate("ZF0303", "2", "3")])
    with decimal.localcontext(decimal.Context(prec=3, rounding=decimal.ROUND_DOWN)):
        assert score_indicator(node, [rate("ZF0303", "2", "3")]) == expected


# ── the 2026 scheme: bonus, veto, total ────────────────────────────────────────


def perfect_facts() -> list[Fact]:
    """Facts under which every 2026 indicator keeps full points."""
    checklists = [
        (n.code, i.key) for n in nodes_2026() if n.kind == "scored" for i in getattr(n.rules, "items", ())
    ]
    return [Fact(i, code, "check", item=key) for i, (code, key) in enumerate(checklists, start=1)]


def test_a_district_at_74_with_three_bonus_points_ends_at_75() -> None:
    facts = [*perfect_facts(), *occurrences("ZF0103", "city", start=500)]
    facts += [Fact(600 + i, "BONUS", "bonus", item="promotion") for i in range(4)]
    result = score_scheme(nodes_2026(), TOTAL_2026, facts)
    assert result.base_total == D("74.00")
    assert result.leaves["BONUS"].score == D("3.00")  # four awards, capped at 3
    assert result.bonus_raw == D("3.00") and result.bonus == D("1.00")
    assert result.total == TOTAL_2026
    assert result.notes == ("加分 3.00 分，总分以 75.00 分为限，实加 1.00 分",)
    assert result.grade() == "优" and not result.failed


def test_a_failing_veto_fails_the_period_whatever_the_total() -> None:
    facts = [*perfect_facts(), Fact(900, "VETO", "veto", item="violent_enforcement")]
    result = score_scheme(nodes_2026(), TOTAL_2026, facts)
    assert result.total == TOTAL_2026 and result.failed
    assert result.grade() == "不达标"
    assert result.vetoed[0].reason == "否决事项「暴力执法造成恶劣影响」成立（事实 #900）：当期考核不达标"
    assert result.leaves["VETO"].deductions[0].rule == "veto:violent_enforcement"


def test_a_veto_zeroes_its_first_level_indicator_and_says_so() -> None:
    facts = [*perfect_facts(), *occurrences("ZF0103", "city", start=500)]
    facts += [Fact(900, "VETO", "veto", item="illegal_building_notice")]
    result = score_scheme(nodes_2026(), TOTAL_2026, facts)
    assert result.groups["ZF"] == D("49.00")  # before veto
    assert result.first_level == {"ZF": D("0.00"), "DW": D("25.00")}
    assert result.total == D("25.00") and not result.failed
    (outcome,) = result.vetoed
    assert outcome.zeroed == ("ZF",)
    cause = "否决事项「违法建设被中央、省督查通报」成立（事实 #900）"
    assert outcome.reason == f"{cause}：一级指标 ZF 执法实效 记 0 分（原 49.00 分）"


def test_the_order_of_facts_changes_nothing() -> None:
    facts = [
        *perfect_facts(),
        *occurrences("ZF0101", "city", "media", "superior", start=500),
        rate("ZF0301", "37", "40", 700),
        Fact(800, "DW05", "extra", item="late_report"),
    ]
    forward = score_scheme(nodes_2026(), TOTAL_2026, facts)
    assert score_scheme(nodes_2026(), TOTAL_2026, list(reversed(facts))) == forward
    assert forward.leaves["ZF0101"].score == D("1.00")  # 1 + 2 + 2 lost


# ── refused input ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("fact", "message"),
    [
        (Fact(7, "ZF9999", "occurrence"), "事实 #7（指标 ZF9999）：指标不存在"),
        (Fact(7, "ZF01", "occurrence"), "事实 #7（指标 ZF01）：该指标有下级指标"),
        (Fact(7, "ZF0301", "occurrence"), "事实 #7（指标 ZF0301）：类型 occurrence 不适用于 rate 计分方法"),
        (Fact(7, "ZF0101", "occurence"), "事实 #7（指标 ZF0101）：类型 occurence 未知"),
        (Fact(7, "ZF0101", "occurrence", found_by="province"), "发现方 province 须为 city、district"),
        (Fact(7, "ZF0301", "rate", numerator=0.9, denominator=D(1)), "numerator 须为不小于 0 的 Decimal"),  # type: ignore[arg-type]
        (Fact(7, "ZF0301", "rate", numerator=D(-1), denominator=D(1)), "numerator 须为不小于 0 的 Decimal"),
        (Fact(7, "ZF0202", "check", item="lunch"), "事实 #7（指标 ZF0202）：项目 lunch 未在规则中配置"),
        (Fact(7, "ZF0101", "extra", item="late"), "附加扣分项 late 未在规则中配置"),
    ],
)
def test_facts_that_do_not_fit_are_refused(fact: Fact, message: str) -> None:
    with pytest.raises(ValueError) as error:
        score_scheme(nodes_2026(), TOTAL_2026, [fact])
    assert message in str(error.value)


def test_duplicate_fact_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="事实 #3（指标 ZF0101）：编号须为不重复的整数"):
        score_scheme(nodes_2026(), TOTAL_2026, occurrences("ZF0101", "city", start=3) * 2)


def test_schemes_whose_maxima_do_not_add_up_are_refused() -> None:
    nodes = nodes_2026()
    with pytest.raises(ValueError, match="一级指标合计 75 分，与细则总分 100 不符"):
        score_scheme(nodes, D(100), [])
    nodes[0].max_points = D(49)
    with pytest.raises(ValueError, match="指标 ZF 分值 49 与下级合计 50 不符"):
        score_scheme(nodes, TOTAL_2026, [])


# ── ranking and grades ─────────────────────────────────────────────────────────


def test_competition_ranking_shares_ranks_and_skips() -> None:
    totals = {"吴江区": D("70.5"), "吴中区": D("70.50"), "相城区": D(68), "姑苏区": D(71)}
    assert rank(totals) == {"姑苏区": 1, "吴中区": 2, "吴江区": 2, "相城区": 4}
    assert rank({"a": D(1), "b": D(1), "c": D(0)}) == {"a": 1, "b": 1, "c": 3}


def test_tie_break_orders_only_equal_totals() -> None:
    totals = {"a": D(70), "b": D(70), "c": D(70), "d": D(75)}
    zf = {"a": D(40), "b": D(45), "c": D(40), "d": D(1)}
    ranks = rank(totals, tie_break=lambda key: -zf[key])  # higher 执法实效 first
    assert ranks == {"d": 1, "b": 2, "a": 3, "c": 3}
    assert list(ranks) == ["d", "b", "a", "c"]


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        ("75", "优"),
        ("67.5", "优"),
        ("67.49", "良"),
        ("60", "良"),
        ("59.99", "中"),
        ("45", "中"),
        ("44.99", "差"),
        ("0", "差"),
    ],
)
def test_grades_are_percentages_of_the_scheme_total(total: str, expected: str) -> None:
    assert grade(D(total)) == expected


def test_grade_on_other_totals_and_failed_veto() -> None:
    assert grade(D(90), scheme_total=D(100)) == "优"
    assert grade(D("89.99"), scheme_total=D(100)) == "良"
    assert grade(D(75), failed=True) == "不达标"
    assert grade(D(45), ((D(60), "合格"), (D(0), "不合格"))) == "合格"  # 45 of 75 is 60 %
    assert grade(D("44.99"), ((D(60), "合格"), (D(0), "不合格"))) == "不合格"


def _broken(change: str) -> list[SchemeNode]:
    nodes = nodes_2026()
    by_code = {n.code: n for n in nodes}
    if change == "veto_target":
        by_code["VETO"].rules = parse_rules(
            {
                "method": "veto",
                "items": [{"key": "x", "label": "通报", "outcome": "zero_first_level", "target": "ZF01"}],
            },
            D(0),
            "VETO",
        )
    elif change == "group_rules":
        by_code["ZF01"].rules = parse_rules(None, D(16), "ZF01")
    elif change == "bonus_without_rules":
        by_code["BONUS"].rules = None
    elif change == "bonus_as_scored":
        by_code["ZF0402"].rules = parse_rules(
            {"method": "bonus", "items": [{"key": "a", "label": "表彰", "points": 1}]}, D(2), "ZF0402"
        )
    elif change == "cycle":
        by_code["ZF"].parent = "ZF0101"
    return nodes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("veto_target", "指标 VETO：否决事项 x 的目标 ZF01 不是一级计分指标"),
        ("group_rules", "指标 ZF01 有下级指标，计分规则须配置在末级指标上"),
        ("bonus_without_rules", "指标 BONUS：加分项、否决项须配置 bonus 规则"),
        ("bonus_as_scored", "指标 ZF0402：scored 类指标不能使用 bonus 计分方法"),
        ("cycle", "上下级关系形成循环"),
    ],
)
def test_misconfigured_schemes_are_refused_before_any_fact_is_scored(change: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        score_scheme(_broken(change), TOTAL_2026, [])
    assert message in str(error.value)
