"""Excel layout of a scheme (考核细则) as such tables are published, and writing it; used through
app.schemes.exchange. Reading it back is app.schemes.workbook_reader.

Sheet 考核细则: row 1 a title "{year}年{name}（{label}）" (for reading only), row 2 the header, then one
row per indicator in tree order. The level is whichever of 一级/二级/三级指标 holds the name; the
parent is the nearest preceding row one level up. 序号 is for reading only (一、二 … / 1, 2 … within
the first level / 1.1, 1.2 …). 类型 is 计分/加分/否决 (blank: 计分; bonus and veto items are
first-level rows); 计分规则 holds the rules as JSON text. Sheet 说明: 年度/版本/名称/总分 as key/value
cells (column A key, column B value) which import reads back, then documentation of every column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from app.schemes.exchange import (
    FREQUENCY_LABELS,
    KIND_LABELS,
    SchemeData,
    SchemeDataError,
    check,
    tree_rows,
)

TABLE_SHEET, NOTES_SHEET = "考核细则", "说明"
HEADER_ROW, FIRST_DATA_ROW = 2, 3


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # header text; import matches it without spaces and without a (…) suffix
    width: float
    doc: str


COLUMNS = [
    Column("seq", "序号", 6, "仅供阅读，导入时忽略。一级写“一、二”，二级在一级内从 1 编号，三级写“1.1”。"),
    Column("level1", "一级指标", 14, "一级指标名称。每行只在一级、二级、三级指标中的一列填写名称。"),
    Column("level2", "二级指标", 18, "二级指标名称；上级为上方最近的一级指标行。"),
    Column("level3", "三级指标", 22, "三级指标名称；上级为上方最近的二级指标行。"),
    Column("max_points", "分值", 7, "非负数，最多两位小数；上级分值等于下级合计，一级计分指标合计等于总分。"),
    Column("kind", "类型", 7, "计分、加分或否决，留空按计分。加分项、否决项只能是一级指标，不计入总分。"),
    Column("criteria", "评分标准", 60, "评分标准原文，可换行。"),
    Column("department", "考核部门", 12, "负责评分的处室或单位。"),
    Column("source", "数据来源", 16, "如 自评填报、市局核查、大数据平台。"),
    Column("frequency", "考核频次", 9, "月度、季度、年度或按次，可留空。"),
    Column("in_system", "系统考核(是/否)", 10, "是：在系统中考核；否：线下考核。留空按“是”。"),
    Column("code", "指标编码", 11, "必填。大写字母和数字，1–20 位，全表唯一，如 ZF、ZF01、ZF0101。"),
    Column("rules", "计分规则", 40, '计分引擎使用的 JSON 对象，如 {"method": "deduct"}；可留空。不打印。'),
]
NOTES = (
    "导入时从本表 A 列“年度、版本、名称、总分”右侧的 B 列读取；「考核细则」表第 1 行标题仅供阅读。",
    "表头行须包含 一级指标、二级指标、三级指标、分值、指标编码 列；上方可有标题行，列的顺序不限。",
    "每个指标一行，按层级排列：一级指标行之后是它的二级指标，二级指标行之后是它的三级指标。",
    "导入时检查全部单元格；有任何错误则整表不导入，并列出错误所在的行号和列号（最多列出 100 处）。",
)
BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED = ("level1", "level2", "level3", "max_points", "code")
LEVELS = ("level1", "level2", "level3")
META = {"year": "年度", "label": "版本", "name": "名称", "total_points": "总分"}

JSON_HINTS = {
    "Expecting value": "缺少值", "Expecting property name enclosed in double quotes": "属性名须用英文双引号",
    "Expecting ',' delimiter": "缺少逗号", "Expecting ':' delimiter": "缺少冒号",
    "Unterminated string starting at": "字符串缺少结尾引号", "Extra data": "结尾有多余内容",
    "Invalid control character at": "含有控制字符", "Invalid \\escape": "反斜杠转义无效",
}  # fmt: skip

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FILLS = {
    "header": PatternFill("solid", fgColor="BDD7EE"),
    "level1": PatternFill("solid", fgColor="F2F2F2"),
    "bonus": PatternFill("solid", fgColor="E2EFDA"),
    "veto": PatternFill("solid", fgColor="FCE4D6"),
}
_WRAP = Alignment(vertical="center", wrap_text=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_CENTERED_KEYS = {"seq", "max_points", "kind", "frequency", "in_system", "code"}


# --------------------------------------------------------------------------------------------- write


def _put(ws: Worksheet, row: int, col: int, value: Any, font: Font | None = None, fill: Any = None) -> Any:
    cell = ws.cell(row=row, column=col, value=None if value == "" else value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text that merely looks like a formula
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def to_workbook(data: SchemeData) -> bytes:
    structural = [p.message for p in check(data) if p.field == "parent" or p.other is not None]
    if structural:
        raise SchemeDataError(structural)
    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):
        raise TypeError(f"a new workbook's active sheet is a {type(ws).__name__}, not a worksheet")
    ws.title = TABLE_SHEET
    _write_table(ws, data)
    _write_notes(wb.create_sheet(NOTES_SHEET), data)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_table(ws: Worksheet, data: SchemeData) -> None:
    col = {c.key: i for i, c in enumerate(COLUMNS, start=1)}
    print_last = get_column_letter(col["code"])
    _put(ws, 1, 1, f"{data.year}年{data.name}（{data.label}）", Font(bold=True, size=16)).alignment = _CENTER
    ws.merge_cells(f"A1:{print_last}1")
    ws.row_dimensions[1].height, ws.row_dimensions[HEADER_ROW].height = 32, 30
    for c in COLUMNS:
        cell = _put(ws, HEADER_ROW, col[c.key], c.label, Font(bold=True), _FILLS["header"])
        cell.alignment, cell.border = _CENTER, _BORDER
        ws.column_dimensions[get_column_letter(col[c.key])].width = c.width
    rows = tree_rows(data.indicators)
    for r, (ind, level, seq) in enumerate(rows, start=FIRST_DATA_ROW):
        values = {
            "seq": seq, LEVELS[level - 1]: ind.name, "max_points": ind.max_points,
            "kind": KIND_LABELS.get(ind.kind, ind.kind), "criteria": ind.criteria,
            "department": ind.department, "source": ind.source,
            "frequency": FREQUENCY_LABELS.get(ind.frequency, ind.frequency),
            "in_system": "是" if ind.assessed_in_system else "否", "code": ind.code,
            "rules": None if ind.rules is None else json.dumps(ind.rules, ensure_ascii=False),
        }  # fmt: skip
        fill = _FILLS.get(ind.kind if ind.kind != "scored" else f"level{level}")
        for c in COLUMNS:
            bold = Font(bold=True) if level == 1 and c.key in ("seq", "level1") else None
            cell = _put(ws, r, col[c.key], values.get(c.key), bold, fill)
            cell.border, cell.alignment = _BORDER, _CENTER if c.key in _CENTERED_KEYS else _WRAP
    last = FIRST_DATA_ROW + len(rows) - 1
    _add_choices(ws, col, last + 200)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1).coordinate
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_area = f"A1:{print_last}{max(last, HEADER_ROW)}"
    ws.page_setup.orientation, ws.page_setup.paperSize = ws.ORIENTATION_LANDSCAPE, ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.print_options.horizontalCentered = True
    footer = ws.oddFooter
    if footer is None:  # openpyxl gives every new worksheet one
        raise TypeError("the worksheet has no footer to number the pages in")
    footer.center.text = "第 &P 页，共 &N 页"


def _add_choices(ws: Worksheet, col: dict[str, int], until: int) -> None:
    """Drop-down lists and a number check in the data area, with room for added rows."""
    for key, choices in (
        ("kind", list(KIND_LABELS.values())),
        ("frequency", list(FREQUENCY_LABELS.values())),
        ("in_system", ["是", "否"]),
        ("max_points", None),
    ):
        if choices:
            dv = DataValidation(type="list", formula1=f'"{",".join(choices)}"', allow_blank=True)
        else:
            dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        dv.error = f"只能填写：{'、'.join(choices or ['不小于 0 的数字'])}"
        dv.errorTitle, dv.showErrorMessage = BY_KEY[key].label, True
        letter = get_column_letter(col[key])
        dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{until}")
        ws.add_data_validation(dv)


def _write_notes(ws: Worksheet, data: SchemeData) -> None:
    bold, heading = Font(bold=True), Font(bold=True, size=14)
    _put(ws, 1, 1, "考核细则信息", heading)
    for r, (key, label) in enumerate(META.items(), start=2):
        _put(ws, r, 1, label, bold)
        _put(ws, r, 2, getattr(data, key)).alignment = Alignment(horizontal="left")
    _put(ws, 7, 1, "列说明", heading)
    for i, text in enumerate(("列名", "填写说明"), start=1):
        _put(ws, 8, i, text, bold, _FILLS["header"]).border = _BORDER
    for r, c in enumerate(COLUMNS, start=9):
        _put(ws, r, 1, c.label).border = _BORDER
        cell = _put(ws, r, 2, c.doc)
        cell.border, cell.alignment = _BORDER, _WRAP
    r = 9 + len(COLUMNS) + 1
    _put(ws, r, 1, "填写规则", heading)
    for n, text in enumerate(NOTES, start=1):
        _put(ws, r + n, 1, f"{n}. {text}")
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 18, 90
