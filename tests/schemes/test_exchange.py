"""Scheme exchange: validation, JSON and Excel round trips, precise messages for malformed workbooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from app.schemes.excel import to_workbook
from app.schemes.exchange import (
    IndicatorData,
    SchemeData,
    SchemeDataError,
    from_json,
    to_json,
    tree_rows,
    validate,
)
from app.schemes.workbook_reader import from_workbook
from tests.schemes.workbooks import (
    RULES,
    cells,
    edited,
    errors_of,
    row_of,
    small_scheme,
)

# ---------------------------------------------------------------------------------------- round trips


def test_draft_scheme_is_valid_and_in_tree_order(draft: SchemeData) -> None:
    assert validate(draft) == []
    assert [row[0] for row in tree_rows(draft.indicators)] == draft.indicators
    assert sum(i.max_points for i in draft.indicators if i.parent is None and i.kind == "scored") == 75


def test_workbook_round_trip_gives_equal_scheme(draft: SchemeData, exported: bytes) -> None:
    assert from_workbook(exported) == draft


def test_workbook_round_trip_keeps_awkward_values() -> None:
    scheme = small_scheme()
    scheme.indicators[2] = replace(
        scheme.indicators[2],
        max_points=Decimal("2.75"),
        criteria="=每处扣 0.2 分\n扣完为止",
        rules={"method": "deduct", "per": "0.2", "note": "含“引号”与 \\ 反斜杠", "tiers": [[0, 60, "0.5"]]},
        department="=法制处",
        frequency="per_event",
        assessed_in_system=False,
    )
    scheme.indicators[3] = replace(scheme.indicators[3], max_points=Decimal("2.25"), frequency="annual")
    scheme.indicators[4] = replace(
        scheme.indicators[4], name="0101", source="大数据平台", frequency="quarterly"
    )
    assert validate(scheme) == []
    assert from_workbook(to_workbook(scheme)) == scheme


def test_json_round_trip_is_exact(draft: SchemeData) -> None:
    scheme = replace(draft, total_points=Decimal("75.00"))
    payload = json.loads(json.dumps(to_json(scheme), ensure_ascii=False))
    assert payload["total_points"] == "75.00"
    assert payload["indicators"][0] == {
        "code": "ZF", "name": "执法实效", "parent": None, "max_points": "50", "kind": "scored",
        "criteria": "", "rules": None, "department": "", "source": "", "frequency": "",
        "assessed_in_system": True,
    }  # fmt: skip
    back = from_json(payload)
    assert back == scheme
    assert [str(i.max_points) for i in back.indicators] == [str(i.max_points) for i in scheme.indicators]
    assert str(back.total_points) == "75.00"


def test_from_json_reports_malformed_numbers_and_validation_problems() -> None:
    payload = to_json(small_scheme())
    payload["indicators"][1]["max_points"] = "五"
    payload["total_points"] = None
    with pytest.raises(SchemeDataError) as caught:
        from_json(payload)
    assert caught.value.errors == [
        "总分（total_points）不是数字：「None」",
        "第 2 项指标 A01 分值（max_points）不是数字：「五」",
    ]
    payload = to_json(small_scheme())
    payload["indicators"][1]["max_points"] = "4"
    with pytest.raises(SchemeDataError) as caught:
        from_json(payload)
    assert caught.value.errors == [
        "指标 A 分值 10 与下级指标分值合计 9 不符",
        "指标 A01 分值 4 与下级指标分值合计 5 不符",
    ]
    assert from_json(payload, check_scheme=False).indicators[1].max_points == 4
    with pytest.raises(SchemeDataError, match="JSON 对象"):
        from_json([])


# ------------------------------------------------------------------------------------------ validate


def mutate(scheme: SchemeData, target: str, /, **changes: Any) -> SchemeData:
    scheme.indicators = [replace(i, **changes) if i.code == target else i for i in scheme.indicators]
    return scheme


def add(scheme: SchemeData, *items: IndicatorData) -> SchemeData:
    scheme.indicators += items
    return scheme


VALIDATE_CASES: list[tuple[str, Callable[[SchemeData], Any], str]] = [
    (
        "duplicate",
        lambda s: add(s, IndicatorData("A02", "又一个", None, Decimal(0), "scored")),
        "指标编码 A02 重复",
    ),
    (
        "bad code",
        lambda s: mutate(s, "A02", code="a-2"),
        "指标编码「a-2」无效：只能由大写字母 A–Z 和数字 0–9 组成，1–20 位",
    ),
    ("long code", lambda s: mutate(s, "A02", code="A" * 21), f"指标编码「{'A' * 21}」无效"),
    ("missing parent", lambda s: mutate(s, "A02", parent="ZZ"), "指标 A02 的上级指标 ZZ 不存在"),
    ("cycle", lambda s: mutate(s, "A", parent="A01"), "指标 A 的上级关系形成循环（A → A01 → A）"),
    ("self parent", lambda s: mutate(s, "A02", parent="A02"), "指标 A02 的上级关系形成循环（A02 → A02）"),
    (
        "depth",
        lambda s: add(s, IndicatorData("A010101", "第四级", "A0101", Decimal(3), "scored")),
        "指标 A010101 超过三级（A › A01 › A0101 › A010101）",
    ),
    ("negative", lambda s: mutate(s, "A02", max_points=Decimal(-5)), "指标 A02 分值 -5 不能为负数"),
    (
        "decimals",
        lambda s: mutate(s, "A0101", max_points=Decimal("3.001")),
        "指标 A0101 分值 3.001 最多保留两位小数",
    ),
    ("not a number", lambda s: mutate(s, "A02", max_points=5.0), "指标 A02 分值「5.0」不是数字"),
    (
        "children sum",
        lambda s: mutate(s, "A0102", max_points=Decimal(1)),
        "指标 A01 分值 5 与下级指标分值合计 4 不符",
    ),
    ("total", lambda s: replace(s, total_points=Decimal(11)), "一级计分指标分值合计 10 分，与总分 11 分不符"),
    ("bonus nested", lambda s: mutate(s, "A02", kind="bonus"), "指标 A02 是加分项，只能作为一级指标"),
    ("veto nested", lambda s: mutate(s, "A0102", kind="veto"), "指标 A0102 是否决项，只能作为一级指标"),
    (
        "under bonus",
        lambda s: add(s, IndicatorData("BONUS01", "推广", "BONUS", Decimal(1), "scored")),
        "指标 BONUS01 的上级 BONUS 是加分项，不能设下级指标",
    ),
    ("kind", lambda s: mutate(s, "A02", kind="extra"), "指标 A02 类型「extra」无效"),
    ("frequency", lambda s: mutate(s, "A02", frequency="weekly"), "指标 A02 考核频次「weekly」无效"),
    ("name", lambda s: mutate(s, "A02", name=" "), "指标 A02 名称不能为空"),
    ("long name", lambda s: mutate(s, "A02", name="长" * 101), "指标 A02 名称超过 100 个字"),
    ("rules type", lambda s: mutate(s, "A02", rules=["deduct"]), "指标 A02 计分规则须为 JSON 对象"),
    (
        "rules json",
        lambda s: mutate(s, "A02", rules={"per": Decimal(1)}),
        "指标 A02 计分规则含有无法写成 JSON 的值",
    ),
    ("in system", lambda s: mutate(s, "A02", assessed_in_system="是"), "指标 A02 系统考核须为是或否"),
    ("year", lambda s: replace(s, year=1999), "年度「1999」无效"),
    ("label", lambda s: replace(s, label=""), "版本不能为空"),
    ("total points", lambda s: replace(s, total_points=Decimal("-1")), "总分：分值 -1 不能为负数"),
    ("empty", lambda s: replace(s, indicators=[]), "考核细则中没有任何指标"),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in VALIDATE_CASES], ids=[c[0] for c in VALIDATE_CASES]
)
def test_validate_names_the_problem(change: Callable[[SchemeData], Any], expected: str) -> None:
    scheme = small_scheme()
    assert validate(scheme) == []
    problems = validate(change(scheme))
    assert any(expected in p for p in problems), problems


def test_validate_accepts_any_order_and_keeps_bonus_and_veto_out_of_the_total() -> None:
    scheme = small_scheme()
    scheme.indicators.reverse()
    assert validate(scheme) == []
    assert validate(mutate(small_scheme(), "BONUS", max_points=Decimal(30))) == []


def test_validate_reports_every_problem_at_once() -> None:
    scheme = mutate(small_scheme(), "A02", frequency="weekly", kind="extra")
    scheme = mutate(scheme, "A0101", code="a1", max_points=Decimal("1.234"))
    problems = validate(scheme)
    assert len(problems) == 5, problems
    assert any("指标 A01 分值 5 与下级指标分值合计 3.234 不符" in p for p in problems)


# ------------------------------------------------------------------------------------- workbook layout


def test_workbook_layout(draft: SchemeData, exported: bytes) -> None:
    wb = load_workbook(BytesIO(exported))
    assert wb.sheetnames == ["考核细则", "说明"]
    ws = wb["考核细则"]
    assert ws["A1"].value == "2026年城管执法考核实施细则（2026版）"
    header = [c.value for c in ws[2]]
    assert header == [
        "序号", "一级指标", "二级指标", "三级指标", "分值", "类型", "评分标准", "考核部门",
        "数据来源", "考核频次", "系统考核(是/否)", "指标编码", "计分规则",
    ]  # fmt: skip
    assert all(c.font.bold and c.fill.fgColor.rgb.endswith("BDD7EE") for c in ws[2])
    assert ws["G3"].alignment.wrap_text
    assert ws.column_dimensions["G"].width == 60
    assert ws.freeze_panes == "A3"
    assert ws.print_title_rows == "$2:$2"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_area == f"'考核细则'!$A$1:$L${len(draft.indicators) + 2}"  # 计分规则 is not printed
    # Tree order, level by column, 序号 一 / 1 / 1.1.
    zf0102, dw, bonus = (row_of(draft, c) for c in ("ZF0102", "DW", "BONUS"))
    assert [ws[f"{col}3"].value for col in "ABCDEFL"] == ["一", "执法实效", None, None, 50, "计分", "ZF"]
    assert [ws[f"{col}{zf0102}"].value for col in "ABCDL"] == [
        "1.2",
        None,
        None,
        "存量违建拆除任务完成率",
        "ZF0102",
    ]
    assert [ws[f"{col}{dw + 1}"].value for col in "ABCL"] == ["1", None, "队伍建设", "DW01"]
    assert [ws[f"{col}{bonus}"].value for col in "ABEFL"] == ["三", "加分项", 3, "加分", "BONUS"]
    assert ws[f"F{bonus + 1}"].value == "否决" and ws[f"E{bonus + 1}"].value == 0
    assert ws[f"K{row_of(draft, 'DW04')}"].value == "否"
    assert ws[f"J{row_of(draft, 'DW04')}"].value == "年度"
    assert json.loads(ws[f"M{row_of(draft, 'ZF0101')}"].value) == RULES["ZF0101"]
    notes = wb["说明"]
    assert [[c.value for c in row] for row in notes["A2:B5"]] == [
        ["年度", 2026], ["版本", "2026版"], ["名称", "城管执法考核实施细则"], ["总分", 75],
    ]  # fmt: skip
    documented = {row[0].value for row in notes.iter_rows(min_row=9)}
    assert set(header) <= documented


def test_export_refuses_a_tree_it_cannot_lay_out() -> None:
    scheme = mutate(small_scheme(), "A02", parent="ZZ")
    with pytest.raises(SchemeDataError) as caught:
        to_workbook(scheme)
    assert caught.value.errors == ["指标 A02 的上级指标 ZZ 不存在"]


# ---------------------------------------------------------------------------------- malformed workbooks


def test_non_numeric_points(draft: SchemeData, exported: bytes) -> None:
    row = row_of(draft, "ZF0101")
    assert errors_of(edited(exported, cells(**{f"E{row}": "六分"}))) == [
        f"第 {row} 行 E 列（分值）：不是数字（「六分」）"
    ]
    assert errors_of(edited(exported, cells(**{f"E{row}": None}))) == [
        f"第 {row} 行 E 列（分值）：未填写分值"
    ]


def test_maxima_not_adding_up_names_the_parent(draft: SchemeData, exported: bytes) -> None:
    content = edited(exported, cells(**{f"E{row_of(draft, 'ZF0101')}": 5}))
    assert errors_of(content) == [
        f"第 {row_of(draft, 'ZF01')} 行 E 列（分值）：指标 ZF01 分值 16 与下级指标分值合计 15 不符"
    ]


def test_total_not_matching_points_at_the_notes_sheet(exported: bytes) -> None:
    def change(wb: Workbook) -> None:
        wb["说明"]["B5"] = 74

    assert errors_of(edited(exported, change)) == [
        "「说明」工作表 第 5 行 B 列（总分）：一级计分指标分值合计 75 分，与总分 74 分不符"
    ]


def test_duplicate_code(draft: SchemeData, exported: bytes) -> None:
    first, second = row_of(draft, "ZF0101"), row_of(draft, "ZF0102")
    content = edited(exported, cells(**{f"L{second}": "ZF0101"}))
    assert errors_of(content) == [
        f"第 {second} 行 L 列（指标编码）：指标编码 ZF0101 重复（与第 {first} 行重复）"
    ]


def test_bad_rules_json(draft: SchemeData, exported: bytes) -> None:
    row = row_of(draft, "ZF0101")
    errors = errors_of(edited(exported, cells(**{f"M{row}": '{method: "deduct"'})))
    assert errors == [
        f"第 {row} 行 M 列（计分规则）：不是有效的 JSON（第 1 行第 2 个字符：属性名须用英文双引号）"
    ]
    errors = errors_of(edited(exported, cells(**{f"M{row}": '["deduct"]'})))
    assert errors == [f'第 {row} 行 M 列（计分规则）：须为 JSON 对象，如 {{"method": "deduct"}}']


def test_wrong_in_system_value(draft: SchemeData, exported: bytes) -> None:
    row = row_of(draft, "ZF0101")
    errors = errors_of(edited(exported, cells(**{f"K{row}": "可以"})))
    assert errors == [f"第 {row} 行 K 列（系统考核）：只能填写“是”或“否”（实际为「可以」）"]


def test_unknown_kind_and_frequency(draft: SchemeData, exported: bytes) -> None:
    row = row_of(draft, "ZF0101")
    errors = errors_of(edited(exported, cells(**{f"F{row}": "扣分", f"J{row}": "每周"})))
    assert errors == [
        f"第 {row} 行 F 列（类型）：类型「扣分」无效，只能填写 计分、加分 或 否决",
        f"第 {row} 行 J 列（考核频次）：考核频次「每周」无效，只能填写 月度、季度、年度、按次 或留空",
    ]


def test_level_given_twice_or_not_at_all(draft: SchemeData, exported: bytes) -> None:
    row = row_of(draft, "ZF0101")
    errors = errors_of(edited(exported, cells(**{f"B{row}": "重复"})))
    assert errors == [f"第 {row} 行 B、D 列（一级指标、三级指标）：同一行只能在一个层级列填写名称"]
    errors = errors_of(edited(exported, cells(**{f"D{row}": None})))
    where = f"第 {row} 行 B、C、D 列（一级指标、二级指标、三级指标）"
    assert errors == [f"{where}：未填写指标名称（须在一级、二级、三级指标中的一列填写）"]


def test_second_level_before_any_first_level(exported: bytes) -> None:
    def change(wb: Workbook) -> None:
        ws = wb["考核细则"]
        ws.insert_rows(3)
        ws["C3"], ws["E3"], ws["L3"] = "孤立的二级指标", 1, "X01"

    assert errors_of(edited(exported, change)) == ["第 3 行 C 列（二级指标）：前面没有一级指标，无法确定上级"]


def test_missing_code_and_bad_code(draft: SchemeData, exported: bytes) -> None:
    row, other = row_of(draft, "ZF0101"), row_of(draft, "ZF0102")
    errors = errors_of(edited(exported, cells(**{f"L{row}": None, f"L{other}": "ZF-02"})))
    assert errors == [
        f"第 {row} 行 L 列（指标编码）：未填写指标编码",
        f"第 {other} 行 L 列（指标编码）：指标编码「ZF-02」无效：只能由大写字母 A–Z 和数字 0–9 组成，1–20 位",
    ]


def test_every_problem_is_reported_together(draft: SchemeData, exported: bytes) -> None:
    a, b, c = row_of(draft, "ZF0101"), row_of(draft, "ZF0301"), row_of(draft, "DW02")
    content = edited(exported, cells(**{f"E{a}": "x", f"K{b}": "对", f"M{c}": "{", f"E{c}": 8}))
    assert errors_of(content) == [
        f"第 {a} 行 E 列（分值）：不是数字（「x」）",
        f"第 {b} 行 K 列（系统考核）：只能填写“是”或“否”（实际为「对」）",
        f"第 {c} 行 M 列（计分规则）：不是有效的 JSON（第 1 行第 2 个字符：属性名须用英文双引号）",
        f"第 {row_of(draft, 'DW')} 行 E 列（分值）：指标 DW 分值 25 与下级指标分值合计 26 不符",
    ]


def test_missing_header_row(exported: bytes) -> None:
    assert errors_of(edited(exported, lambda wb: wb["考核细则"].delete_rows(2))) == [
        "未找到表头行：工作表「考核细则」中没有包含 一级指标、二级指标、三级指标、分值、指标编码 的一行"
    ]
    assert errors_of(edited(exported, cells(L2=None))) == ["第 2 行表头缺少列：指标编码"]


def test_empty_workbook_and_not_a_workbook() -> None:
    out = BytesIO()
    Workbook().save(out)
    assert errors_of(out.getvalue()) == [
        "未找到表头行：工作表「Sheet」中没有包含 一级指标、二级指标、三级指标、分值、指标编码 的一行",
        "缺少「说明」工作表：其 A 列写 年度、版本、名称、总分，B 列写对应的值",
    ]
    for content in (b"", b"not a spreadsheet"):
        assert errors_of(content) == ["文件不是有效的 Excel 工作簿（.xlsx）：BadZipFile"]


def test_header_without_indicator_rows(exported: bytes) -> None:
    content = edited(exported, lambda wb: wb["考核细则"].delete_rows(3, 100))
    assert errors_of(content) == ["第 2 行表头下没有任何指标行"]


def test_hand_made_workbook_in_another_layout() -> None:
    """No title row, blank rows, own column order, labels with spaces and units, optional columns left
    out (类型 then follows the codes BONUS/VETO), lower-case codes, 序号 of any form."""
    wb = Workbook()
    ws = wb.active
    ws.title = "考核细则"
    ws.append([])
    ws.append(["附件1"])
    ws.append(
        ["指标编码", "分 值（分）", "序号", "一级 指标", "二级指标", "三级指标", "评分标准", "考核频次"]
    )
    ws.append(["a", 10, 1, "甲", None, None, None, "季度"])
    ws.append([])
    ws.append(["a01", 6.5, 2, None, "甲一", None, "每处扣0.5分", "monthly"])
    ws.append(["A0101", "6.5", 3, None, None, "甲一一", None, None])
    ws.append(["A02", 3.5, 4, None, "甲二", None, None, "按次"])
    ws.append(["BONUS", 2, 5, "加分项", None, None, None, None])
    notes = wb.create_sheet("说明")
    for row in (["年度", "2026"], ["版本", " 试行 "], [], ["名称", "手工细则"], ["总分", "10"]):
        notes.append(row)
    out = BytesIO()
    wb.save(out)
    scheme = from_workbook(out.getvalue())
    assert scheme == SchemeData(
        2026,
        "试行",
        "手工细则",
        Decimal(10),
        [
            IndicatorData("A", "甲", None, Decimal(10), "scored", frequency="quarterly"),
            IndicatorData(
                "A01", "甲一", "A", Decimal("6.5"), "scored", criteria="每处扣0.5分", frequency="monthly"
            ),
            IndicatorData("A0101", "甲一一", "A01", Decimal("6.5"), "scored"),
            IndicatorData("A02", "甲二", "A", Decimal("3.5"), "scored", frequency="per_event"),
            IndicatorData("BONUS", "加分项", None, Decimal(2), "bonus"),
        ],
    )


def test_missing_notes_metadata(exported: bytes) -> None:
    def change(wb: Workbook) -> None:
        wb["说明"]["A2"] = "年份"
        wb["说明"]["B4"] = None
        wb["说明"]["B5"] = "七十五"

    assert errors_of(edited(exported, change)) == [
        "「说明」工作表 第 5 行 B 列（总分）：不是数字（「七十五」）",
        "「说明」工作表缺少“年度”（A 列写“年度”，B 列写值）",
        "「说明」工作表 第 4 行 B 列（名称）：名称不能为空",
    ]


def test_validate_survives_garbage_from_json() -> None:
    payload = to_json(small_scheme())
    payload["indicators"][1].update(parent=["A"], rules="deduct", kind=None, name=3)
    payload["year"] = "2026"
    with pytest.raises(SchemeDataError) as caught:
        from_json(payload)
    assert caught.value.errors == [
        "年度「2026」无效，须为 2000–2100 之间的整数",
        "指标 A01 名称须为文本",
        "指标 A01 类型「None」无效，须为 scored（计分）、bonus（加分）、veto（否决）",
        "指标 A01 计分规则须为 JSON 对象",
        "指标 A01 的上级指标 ['A'] 不存在",
        "指标 A 分值 10 与下级指标分值合计 5 不符",  # A01 no longer counts under A
    ]


def test_a_json_file_nested_too_deep_or_with_absurd_numbers_is_refused_with_messages(
    draft: SchemeData,
) -> None:
    from app.schemes.forms import read_upload

    with pytest.raises(SchemeDataError) as deep:
        read_upload("细则.json", ("[" * 5000 + "]" * 5000).encode())
    assert deep.value.errors == ["文件的 JSON 嵌套超过 20 层，考核细则不会嵌套这么深"]
    payload = to_json(draft)
    payload["total_points"] = "9e999999999"
    payload["indicators"][0]["max_points"] = "1e999999999"
    with pytest.raises(SchemeDataError) as huge:
        read_upload("细则.json", json.dumps(payload).encode())
    assert "分值「9E+999999999」过大（须小于 1000000）" in huge.value.errors[0]
    assert any("分值「1E+999999999」过大" in e for e in huge.value.errors)
