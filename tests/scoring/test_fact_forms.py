"""Entering facts per scoring method: parse, refill, and Chinese field errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from app.schemes.operations import default_scheme_data
from app.scoring.fact_forms import describe_fields, name, occurrence_rows, parse_indicator, prefill
from app.scoring.rule_reading import parse_rules, read_rules_document

RULES_FILE = Path(__file__).resolve().parents[2] / "app/schemes/data/rules-2026.yaml"
_, RULES = read_rules_document(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))


def rules(code: str, max_points: str):
    return parse_rules(RULES[code], Decimal(max_points), code)


def test_occurrences_with_finder_date_and_rectification() -> None:
    zf0101 = rules("ZF0101", "6")
    payload = {
        name("ZF0101", "occ1_desc"): "新增违建未制止",
        name("ZF0101", "occ1_place"): "松陵街道",
        name("ZF0101", "occ1_date"): "2026-11-03",
        name("ZF0101", "occ1_found_by"): "media",
        name("ZF0101", "occ1_unrectified"): "on",
        name("ZF0101", "occ3_desc"): "卫片发现",  # a gap in the rows is fine
    }
    parsed = parse_indicator(zf0101, "新增违建发现与制止", payload)
    assert parsed.errors == {}
    first, second = parsed.facts
    assert (first.kind, first.found_by, first.rectified, first.occurred_on) == (
        "occurrence",
        "media",
        False,
        date(2026, 11, 3),
    )
    assert second.description == "卫片发现" and second.found_by is None and second.rectified
    refilled = prefill(zf0101, parsed.facts)
    assert refilled[name("ZF0101", "occ2_desc")] == "卫片发现"
    assert parse_indicator(zf0101, "x", refilled).facts == parsed.facts
    assert occurrence_rows(parsed.facts) == 4


def test_occurrence_errors_name_the_indicator_and_row() -> None:
    zf0101 = rules("ZF0101", "6")
    parsed = parse_indicator(
        zf0101,
        "新增违建发现与制止",
        {
            name("ZF0101", "occ1_date"): "11/03",
            name("ZF0101", "occ2_place"): "某处",
            name("ZF0101", "occ3_desc"): "x",
            name("ZF0101", "occ3_found_by"): "neighbour",
        },
    )
    assert parsed.errors == {
        name("ZF0101", "occ1_date"): "新增违建发现与制止：第 1 起的日期格式应为 YYYY-MM-DD",
        name("ZF0101", "occ2_desc"): "新增违建发现与制止：第 2 起须描述问题",
        name("ZF0101", "occ3_found_by"): "新增违建发现与制止：第 3 起的发现方式无效",
    }


def test_rate_needs_both_parts_and_numerator_not_above_denominator() -> None:
    zf0301 = rules("ZF0301", "6")
    ok = parse_indicator(
        zf0301, "按期处置率", {name("ZF0301", "numerator"): "925", name("ZF0301", "denominator"): "1000"}
    )
    assert ok.facts[0].numerator == Decimal(925) and ok.errors == {}
    assert prefill(zf0301, ok.facts) == {
        name("ZF0301", "numerator"): "925",
        name("ZF0301", "denominator"): "1000",
    }
    half = parse_indicator(zf0301, "按期处置率", {name("ZF0301", "numerator"): "925"})
    assert "分母须为数字" in half.errors[name("ZF0301", "denominator")]
    upside = parse_indicator(
        zf0301, "按期处置率", {name("ZF0301", "numerator"): "2", name("ZF0301", "denominator"): "1"}
    )
    assert upside.errors == {name("ZF0301", "numerator"): "按期处置率：分子不能大于分母"}
    assert parse_indicator(zf0301, "按期处置率", {}).facts == []


def test_checklist_items_and_extras_counts() -> None:
    dw05 = rules("DW05", "2")
    item = dw05.items[0].key
    extra = dw05.extras[0].key
    parsed = parse_indicator(
        dw05, "制度建设与台账", {name("DW05", f"item_{item}"): "1", name("DW05", f"extra_{extra}"): "2"}
    )
    kinds = sorted((f.kind, f.item) for f in parsed.facts)
    assert kinds == [("check", item), ("extra", extra), ("extra", extra)]
    assert prefill(dw05, parsed.facts)[name("DW05", f"extra_{extra}")] == "2"
    bad = parse_indicator(dw05, "制度建设与台账", {name("DW05", f"extra_{extra}"): "-1"})
    assert "整数" in bad.errors[name("DW05", f"extra_{extra}")]


def test_veto_items_only_where_allowed() -> None:
    veto = rules("VETO", "0")
    key = veto.items[0].key
    payload = {name("VETO", f"item_{key}"): "1", name("VETO", "desc"): "经查属实"}
    assert parse_indicator(veto, "否决项", payload, allow_veto=False).facts == []
    fact = parse_indicator(veto, "否决项", payload).facts[0]
    assert (fact.kind, fact.item, fact.description) == ("veto", key, "经查属实")


LEAVES = [i for i in default_scheme_data(2026, "2026版", "细则").indicators if i.rules is not None]


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf.code)
def test_every_2026_indicator_describes_its_fields(leaf) -> None:
    fields = describe_fields(parse_rules(leaf.rules, leaf.max_points, leaf.code), leaf.name)
    assert fields and all(f["name"].startswith(f"f_{leaf.code}_") for f in fields)
