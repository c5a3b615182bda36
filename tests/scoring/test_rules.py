"""Rule configuration: what an administrator may write, what is refused and how it is explained."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from app.scoring.rule_reading import dump_rules, parse_rules
from app.scoring.rules import (
    BonusRules,
    ChecklistRules,
    DeductRules,
    ManualRules,
    RateRules,
    RuleError,
    TieredRules,
    VetoRules,
)
from tests.scoring import TOTAL_2026, load_rules_2026, nodes_2026

D = Decimal


def parse(data: dict[str, Any] | None, max_points: str = "6", code: str = "ZF0301") -> Any:
    return parse_rules(data, D(max_points), code)


def test_no_rules_means_manual_scoring() -> None:
    assert parse(None) == ManualRules(code="ZF0301", max_points=D(6))


def test_yaml_floats_become_the_decimal_that_was_written() -> None:
    rules = parse({"method": "rate", "mode": "threshold", "threshold": 95, "per_point": 0.3})
    assert isinstance(rules, RateRules)
    assert rules.per_point == D("0.3") and rules.threshold == D(95)
    assert rules.when_no_data == "full"


def test_frequency_is_left_to_the_caller() -> None:
    assert parse({"method": "deduct", "amount": "1", "frequency": "monthly"}) == parse(
        {"method": "deduct", "amount": "1"}
    )


def test_deduct_prices_by_finder_and_multiplier() -> None:
    by_finder = parse({"method": "deduct", "amount": "0.1", "by_finder": {"city": "0.3", "district": "0.2"}})
    assert isinstance(by_finder, DeductRules)
    assert [by_finder.per_occurrence(f) for f in ("city", "district", "media", None)] == [
        D("0.3"),
        D("0.2"),
        D("0.1"),
        D("0.1"),
    ]
    multiplied = parse({"method": "deduct", "amount": "1", "multipliers": {"media": 3, "superior": 2}})
    assert isinstance(multiplied, DeductRules)
    assert multiplied.per_occurrence("media") == 3 and multiplied.per_occurrence("city") == 1
    assert multiplied.limit == D(6)


@pytest.mark.parametrize(
    ("data", "max_points", "message"),
    [
        (
            {"method": "rate", "mode": "threshold", "threshold": 101, "per_point": "0.3"},
            "6",
            "指标 ZF0301：threshold（阈值）须在 0 到 100 之间",
        ),
        ({"method": "score"}, "6", "指标 ZF0301：method（计分方法）须为 manual、deduct"),
        ({"amount": 1}, "6", "指标 ZF0301：method（计分方法）须为"),
        ({"method": "deduct", "amount": 1, "capp": 2}, "6", "指标 ZF0301：capp 为未知字段"),
        ({"method": "deduct", "amount": 1, "cap": 7}, "6", "指标 ZF0301：cap（上限）须在 0 到 6 之间"),
        ({"method": "deduct", "amount": "x"}, "6", "指标 ZF0301：amount（每次扣分）须为有限数字"),
        ({"method": "deduct", "amount": "NaN"}, "6", "amount（每次扣分）须为有限数字"),
        ({"method": "deduct", "amount": True}, "6", "amount（每次扣分）须为有限数字"),
        ({"method": "deduct", "amount": -1}, "6", "amount（每次扣分）不能小于 0"),
        ({"method": "deduct", "by_finder": {"city": 1}}, "6", "amount（每次扣分）未设置时，by_finder 须覆盖"),
        (
            {"method": "deduct", "amount": 1, "by_finder": {"city": 1}, "multipliers": {"media": 2}},
            "6",
            "by_finder（按发现方扣分）与 multipliers 只能设置其一",
        ),
        (
            {"method": "deduct", "amount": 1, "by_finder": {"province": 1}},
            "6",
            "by_finder 的键 须为 city、district",
        ),
        ({"method": "deduct", "amount": 1, "multipliers": {"media": 0}}, "6", "multipliers media 须大于 0"),
        (
            {"method": "rate", "mode": "threshold", "threshold": 95},
            "6",
            "per_point（每个百分点扣分）为 threshold 方式的必填项",
        ),
        (
            {"method": "rate", "mode": "proportional", "threshold": 95},
            "6",
            "threshold（阈值）仅适用于 threshold 方式",
        ),
        (
            {"method": "rate", "mode": "proportional", "when_no_data": "half"},
            "6",
            "when_no_data（无数据时）须为 full、zero 之一",
        ),
        ({"method": "tiered", "bands": []}, "2", "bands（分档）须为非空列表"),
        (
            {"method": "tiered", "bands": [{"min": 0, "max": 60, "points": 3}]},
            "2",
            "bands 第 1 项 points 须在 0 到 2 之间",
        ),
        (
            {"method": "tiered", "bands": [{"min": 60, "max": 60, "points": 1}]},
            "2",
            "bands 第 1 项 的 min 须小于 max",
        ),
        (
            {
                "method": "tiered",
                "bands": [{"min": 0, "max": 61, "points": 1}, {"min": 60, "max": 70, "points": 2}],
            },
            "2",
            "bands 第 2 项 与上一档重叠",
        ),
        ({"method": "tiered", "bands": [{"min": 0, "max": 60}]}, "2", "bands 第 1 项 缺少字段 points"),
        (
            {"method": "checklist", "items": [{"key": "plan", "label": "方案", "points": 1}]},
            "2",
            "items（项目）分值合计 1 须等于指标分值 2",
        ),
        (
            {
                "method": "checklist",
                "items": [
                    {"key": "plan", "label": "方案", "points": 1},
                    {"key": "plan", "label": "方案二", "points": 1},
                ],
            },
            "2",
            "items（项目）的键 plan 重复",
        ),
        (
            {"method": "checklist", "items": [{"key": "Plan A", "label": "方案", "points": 2}]},
            "2",
            "items 第 1 项 key 须为小写英文字母开头的标识",
        ),
        (
            {"method": "checklist", "items": [{"key": "plan", "label": " ", "points": 2}]},
            "2",
            "items 第 1 项 label 须为非空文字",
        ),
        (
            {"method": "bonus", "cap": 4, "items": [{"key": "award", "label": "表彰", "points": 1}]},
            "3",
            "cap（上限）须在 0 到 3 之间",
        ),
        (
            {
                "method": "veto",
                "items": [{"key": "violent", "label": "暴力执法", "outcome": "zero_first_level"}],
            },
            "0",
            "items 第 1 项 target 须为非空文字",
        ),
        (
            {
                "method": "veto",
                "items": [{"key": "violent", "label": "暴力执法", "outcome": "fail", "target": "ZF"}],
            },
            "0",
            "items 第 1 项 target 仅适用于 zero_first_level",
        ),
        (
            {"method": "veto", "items": [{"key": "violent", "label": "暴力执法", "outcome": "warn"}]},
            "0",
            "items 第 1 项 outcome 须为 fail、zero_first_level 之一",
        ),
        (
            {
                "method": "veto",
                "items": [{"key": "v", "label": "暴力执法", "outcome": "fail"}],
                "extras": [{"key": "late", "label": "迟报", "amount": 1}],
            },
            "0",
            "extras（附加扣分）不适用于否决项",
        ),
        (
            {"method": "manual", "extras": [{"key": "late", "label": "迟报"}]},
            "6",
            "extras 第 1 项 缺少字段 amount",
        ),
        ({"method": "manual", "extras": {"late": 1}}, "6", "extras（附加扣分）须为非空列表"),
    ],
)
def test_refused_rules_name_the_indicator_and_the_field(
    data: dict[str, Any], max_points: str, message: str
) -> None:
    with pytest.raises(RuleError) as error:
        parse(data, max_points)
    assert message in str(error.value)
    assert str(error.value).startswith("指标 ZF0301：")


def test_rules_must_be_a_mapping_and_the_maximum_a_decimal() -> None:
    with pytest.raises(RuleError, match="指标 DW05：rules 须为映射"):
        parse_rules(["checklist"], D(2), "DW05")  # type: ignore[arg-type]
    with pytest.raises(RuleError, match="指标 DW05：分值须为不小于 0 的 Decimal"):
        parse_rules(None, 2.0, "DW05")  # type: ignore[arg-type]


CANONICAL: list[tuple[str, dict[str, Any]]] = [
    ("6", {"method": "manual"}),
    ("6", {"method": "manual", "extras": [{"key": "late", "label": "迟报", "amount": "0.5"}]}),
    (
        "6",
        {
            "method": "deduct",
            "amount": "1.0",
            "multipliers": {"media": "2", "superior": "2"},
            "unrectified_extra": "0",
        },
    ),
    (
        "1",
        {
            "method": "deduct",
            "amount": "0.1",
            "by_finder": {"city": "0.3", "district": "0.2"},
            "cap": "1",
            "unrectified_extra": "0.5",
        },
    ),
    (
        "6",
        {
            "method": "rate",
            "mode": "threshold",
            "threshold": "95",
            "per_point": "0.3",
            "when_no_data": "zero",
        },
    ),
    (
        "4",
        {
            "method": "rate",
            "mode": "proportional",
            "when_no_data": "full",
            "extras": [{"key": "unreported_case", "label": "抽查应报不报", "amount": "4"}],
        },
    ),
    (
        "2",
        {
            "method": "tiered",
            "bands": [{"min": "0", "max": "60", "points": "0.5"}, {"min": "60", "max": "100", "points": "2"}],
        },
    ),
    (
        "3",
        {
            "method": "checklist",
            "items": [
                {"key": "plan", "label": "方案", "points": "1"},
                {"key": "staff", "label": "人员到岗", "points": "2"},
            ],
        },
    ),
    ("3", {"method": "bonus", "items": [{"key": "promotion", "label": "推广", "points": "1"}], "cap": "3"}),
    (
        "0",
        {
            "method": "veto",
            "items": [
                {"key": "violent", "label": "暴力执法", "outcome": "fail"},
                {"key": "notice", "label": "督查通报", "outcome": "zero_first_level", "target": "ZF"},
            ],
        },
    ),
]


@pytest.mark.parametrize(("max_points", "data"), CANONICAL)
def test_round_trip_is_exact(max_points: str, data: dict[str, Any]) -> None:
    rules = parse(data, max_points)
    assert dump_rules(rules) == data
    assert parse(dump_rules(rules), max_points) == rules


def test_dump_keeps_defaults_that_follow_the_maximum_implicit() -> None:
    rules = parse({"method": "deduct", "amount": 0.5, "by_finder": {"media": 1, "city": 0.5}})
    assert dump_rules(rules) == {
        "method": "deduct",
        "amount": "0.5",
        "by_finder": {"city": "0.5", "media": "1"},
        "unrectified_extra": "0",
    }
    assert isinstance(rules, DeductRules) and rules.cap is None and rules.limit == D(6)


def test_rules_2026_parse_completely_and_add_up() -> None:
    nodes = nodes_2026()
    by_code = {n.code: n for n in nodes}
    children: dict[str | None, list[str]] = defaultdict(list)
    for node in nodes:
        children[node.parent].append(node.code)
    leaves = [n for n in nodes if n.code not in children]
    assert all(n.rules is not None for n in leaves), "every leaf has explicit rules"
    assert all(n.rules is None for n in nodes if n.code in children), "groups carry no rules"

    def leaf_sum(code: str) -> Decimal:
        kids = children.get(code)
        return sum((leaf_sum(k) for k in kids), D(0)) if kids else by_code[code].max_points

    for node in nodes:
        if node.code in children:
            assert leaf_sum(node.code) == node.max_points, node.code
    assert leaf_sum("ZF") == 50 and leaf_sum("DW") == 25
    assert sum((leaf_sum(c) for c in children[None] if by_code[c].kind == "scored"), D(0)) == TOTAL_2026
    scored = [n for n in leaves if n.kind == "scored"]
    assert len(scored) == 22
    assert {type(n.rules) for n in scored} == {DeductRules, RateRules, ChecklistRules}


def test_rules_2026_split_dw01_and_dw02_and_keep_bonus_and_veto_rules() -> None:
    children, _ = load_rules_2026()
    assert {(c.code, c.parent, c.max_points) for c in children} == {
        ("DW0101", "DW01", 3),
        ("DW0102", "DW01", 2),
        ("DW0201", "DW02", 2),
        ("DW0202", "DW02", 3),
        ("DW0203", "DW02", 2),
    }
    by_code = {n.code: n for n in nodes_2026()}
    bonus, veto = by_code["BONUS"].rules, by_code["VETO"].rules
    assert isinstance(bonus, BonusRules) and bonus.limit == 3
    assert {i.points for i in bonus.items} == {D(1), D("0.5")}
    assert isinstance(veto, VetoRules)
    assert {i.outcome for i in veto.items} == {"fail", "zero_first_level"}
    assert all(by_code[i.target].parent is None for i in veto.items if i.target)
    zf0401 = by_code["ZF0401"].rules
    assert isinstance(zf0401, RateRules) and [(e.key, e.amount) for e in zf0401.extras] == [
        ("unreported_case", D(4))
    ]
    dw05 = by_code["DW05"].rules
    assert isinstance(dw05, ChecklistRules) and [e.amount for e in dw05.extras] == [D("0.5"), D(1)]
    assert not isinstance(by_code["ZF0303"].rules, TieredRules)
    # Every rule in the file survives a dump/parse round trip.
    for node in by_code.values():
        if node.rules is not None:
            assert parse_rules(dump_rules(node.rules), node.max_points, node.code) == node.rules
