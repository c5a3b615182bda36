"""Excel layout of a scheme (考核细则) as such tables are published; used through app.schemes.exchange.

Sheet 考核细则: row 1 a title "{year}年{name}（{label}）" (for reading only), row 2 the header, then one
row per indicator in tree order. The level is whichever of 一级/二级/三级指标 holds the name; the
parent is the nearest preceding row one level up. 序号 is for reading only (一、二 … / 1, 2 … within
the first level / 1.1, 1.2 …). 类型 is 计分/加分/否决 (blank: 计分; bonus and veto items are
first-level rows); 计分规则 holds the rules as JSON text. Sheet 说明: 年度/版本/名称/总分 as key/value
cells (column A key, column B value) which import reads back, then documentation of every column.
Import finds the header row by its labels and reports every problem with row and column letter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from app.schemes.exchange import (
    FREQUENCY_LABELS,
    KIND_LABELS,
    IndicatorData,
    SchemeData,
    SchemeDataError,
    check,
    parse_decimal,
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
    "导入时检查全部单元格；有任何错误则整表不导入，并列出所有错误的行号和列号。",
)
BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED = ("level1", "level2", "level3", "max_points", "code")
LEVELS = ("level1", "level2", "level3")
META = {"year": "年度", "label": "版本", "name": "名称", "total_points": "总分"}
# Column of a validation finding, by IndicatorData field when the names differ ("level": the name cell).
FIELD_COLUMN = {"name": "level", "parent": "level", "assessed_in_system": "in_system"}
KIND_BY_TEXT = {**{v: k for k, v in KIND_LABELS.items()}, **{k: k for k in KIND_LABELS}}
CODE_KINDS = {"BONUS": "bonus", "VETO": "veto"}  # kind when the 类型 cell or column is missing
FREQUENCY_BY_TEXT = {**{v: k for k, v in FREQUENCY_LABELS.items()}, **{k: k for k in FREQUENCY_LABELS}}

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


def write_workbook(data: SchemeData) -> bytes:
    structural = [p.message for p in check(data) if p.field == "parent" or p.other is not None]
    if structural:
        raise SchemeDataError(structural)
    wb = Workbook()
    ws = wb.active
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
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


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


# ---------------------------------------------------------------------------------------------- read


def _normalize_label(value: Any) -> str:
    text = re.sub(r"\s+", "", str(value)) if value is not None else ""
    return re.sub(r"[（(][^）)]*[）)]", "", text)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def find_header(ws: Worksheet) -> tuple[int | None, dict[str, int], list[str]]:
    """The header row, the column of each known label, and problems (missing or repeated labels)."""
    labels = {_normalize_label(c.label): c.key for c in COLUMNS}
    partial: str | None = None
    for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
        found: dict[str, list[int]] = {}
        for i, value in enumerate(values, start=1):
            key = labels.get(_normalize_label(value))
            if key:
                found.setdefault(key, []).append(i)
        missing = [BY_KEY[k].label for k in REQUIRED if k not in found]
        if not missing:
            repeated = [
                f"第 {r} 行 {'、'.join(get_column_letter(i) for i in cols)} 列：表头“{BY_KEY[k].label}”重复"
                for k, cols in found.items()
                if len(cols) > 1
            ]
            return r, {k: cols[0] for k, cols in found.items()}, repeated
        if len(found) >= 3 and partial is None:
            partial = f"第 {r} 行表头缺少列：{'、'.join(missing)}"
    needed = "、".join(BY_KEY[k].label for k in REQUIRED)
    return None, {}, [partial or f"未找到表头行：工作表「{ws.title}」中没有包含 {needed} 的一行"]


class _Reader:
    def __init__(self, columns: dict[str, int]) -> None:
        self.columns = columns  # column key -> 1-based column index
        self.errors: list[str] = []
        self.suppressed: set[tuple[int | None, str]] = set()  # findings already reported per cell
        self.skip_points: set[int] = set()  # indicators whose points are unknown
        self.tree_certain = True
        self.rows: list[int] = []  # sheet row of each indicator
        self.levels: list[int] = []
        self.meta_rows: dict[str, int] = {}

    def where(self, row: int, *keys: str) -> str:
        letters = "、".join(get_column_letter(self.columns[k]) for k in keys)
        labels = "、".join(_normalize_label(BY_KEY[k].label) for k in keys)
        return f"第 {row} 行 {letters} 列（{labels}）"

    def cell_error(self, row: int, key: str, message: str) -> None:
        self.errors.append(f"{self.where(row, key)}：{message}")

    def read_table(self, ws: Worksheet, header: int) -> list[IndicatorData]:
        items: list[IndicatorData] = []
        last: dict[int, str | None] = {1: None, 2: None}  # latest first- and second-level codes
        for r, values in enumerate(ws.iter_rows(min_row=header + 1, values_only=True), start=header + 1):
            raw = {k: values[i - 1] if i <= len(values) else None for k, i in self.columns.items()}
            if all(_text(v) == "" for k, v in raw.items() if k != "seq"):
                continue
            ind, level, flags = self.read_row(r, raw)
            if level is None:
                self.tree_certain = False
                continue
            if level > 1:
                ind.parent = last[level - 1]
                if ind.parent is None:
                    above = "一级" if level == 2 else "所属的二级"
                    self.cell_error(r, LEVELS[level - 1], f"前面没有{above}指标，无法确定上级")
                    self.tree_certain = False
                    continue
            if level == 1:
                last = {1: ind.code, 2: None}
            elif level == 2:
                last[2] = ind.code
            index = len(items)
            self.suppressed.update((index, f) for f in flags if f in ("code", "kind"))
            if flags & {"max_points", "kind"}:
                self.skip_points.add(index)
            items.append(ind)
            self.rows.append(r)
            self.levels.append(level)
        if not items:
            self.errors.append(f"第 {header} 行表头下没有任何指标行")
        return items

    def read_row(self, r: int, raw: dict[str, Any]) -> tuple[IndicatorData, int | None, set[str]]:
        """One indicator (parent not yet set), its level (None if unclear) and the fields in error."""
        flags: set[str] = set()
        names = {lvl: _text(raw[k]) for lvl, k in enumerate(LEVELS, start=1)}
        filled = [lvl for lvl, name in names.items() if name]
        level = filled[0] if len(filled) == 1 else None
        if not filled:
            self.errors.append(
                f"{self.where(r, *LEVELS)}：未填写指标名称（须在一级、二级、三级指标中的一列填写）"
            )
        elif len(filled) > 1:
            keys = [LEVELS[lvl - 1] for lvl in filled]
            self.errors.append(f"{self.where(r, *keys)}：同一行只能在一个层级列填写名称")
        code = _text(raw["code"]).upper()
        if not code:
            self.cell_error(r, "code", "未填写指标编码")
            flags.add("code")
            code = f"<第{r}行>"
        points = parse_decimal(raw["max_points"])
        if points is None:
            shown = _text(raw["max_points"])
            self.cell_error(r, "max_points", f"不是数字（「{shown}」）" if shown else "未填写分值")
            flags.add("max_points")
        kind_text = _text(raw.get("kind"))
        kind = KIND_BY_TEXT.get(kind_text) if kind_text else CODE_KINDS.get(code, "scored")
        if kind is None:
            self.cell_error(r, "kind", f"类型「{kind_text}」无效，只能填写 计分、加分 或 否决")
            flags.add("kind")
        frequency_text = _text(raw.get("frequency"))
        frequency = FREQUENCY_BY_TEXT.get(frequency_text, "") if frequency_text else ""
        if frequency_text and not frequency:
            self.cell_error(
                r, "frequency", f"考核频次「{frequency_text}」无效，只能填写 月度、季度、年度、按次 或留空"
            )
        in_system = raw.get("in_system") if isinstance(raw.get("in_system"), bool) else None
        if in_system is None and _text(raw.get("in_system")) not in ("", "是", "否"):
            self.cell_error(r, "in_system", f"只能填写“是”或“否”（实际为「{_text(raw.get('in_system'))}」）")
        indicator = IndicatorData(
            code=code,
            name=names[level] if level else "",
            parent=None,
            max_points=points if points is not None else Decimal(0),
            kind=kind or "scored",
            criteria=_text(raw.get("criteria")),
            rules=self.read_rules(r, raw.get("rules")),
            department=_text(raw.get("department")),
            source=_text(raw.get("source")),
            frequency=frequency,
            assessed_in_system=_text(raw.get("in_system")) != "否" if in_system is None else in_system,
        )
        return indicator, level, flags

    def read_rules(self, r: int, value: Any) -> dict[str, Any] | None:
        text = _text(value)
        if not text:
            return None
        try:
            rules = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = JSON_HINTS.get(exc.msg, exc.msg)
            self.cell_error(r, "rules", f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 个字符：{hint}）")
            return None
        if rules is not None and not isinstance(rules, dict):
            self.cell_error(r, "rules", '须为 JSON 对象，如 {"method": "deduct"}')
            return None
        return rules

    def read_meta(self, wb: Any) -> dict[str, Any]:
        """年度/版本/名称/总分 from the 说明 sheet (first cell in column A holding the key)."""
        meta: dict[str, Any] = {"year": 2000, "label": "", "name": "", "total_points": Decimal(0)}
        if NOTES_SHEET not in wb.sheetnames:
            self.errors.append(
                f"缺少「{NOTES_SHEET}」工作表：其 A 列写 年度、版本、名称、总分，B 列写对应的值"
            )
            self.suppressed.update((None, key) for key in META)
            return meta
        keys = {label: key for key, label in META.items()}
        rows = wb[NOTES_SHEET].iter_rows(max_col=2, values_only=True)
        for r, (label, value, *_) in enumerate(((*row, None) for row in rows), start=1):
            key = keys.get(_normalize_label(label))
            if key is None or key in self.meta_rows:
                continue
            self.meta_rows[key] = r
            number = parse_decimal(value)
            if key in ("label", "name"):
                meta[key] = _text(value)
            elif number is not None and (key == "total_points" or number == number.to_integral_value()):
                meta[key] = number if key == "total_points" else int(number)
            else:
                what = "整数" if key == "year" else "数字"
                self.errors.append(
                    f"「{NOTES_SHEET}」工作表 第 {r} 行 B 列（{META[key]}）：不是{what}（「{_text(value)}」）"
                )
                self.suppressed.add((None, key))
        for key, label in META.items():
            if key not in self.meta_rows:
                self.errors.append(f"「{NOTES_SHEET}」工作表缺少“{label}”（A 列写“{label}”，B 列写值）")
                self.suppressed.add((None, key))
        return meta

    def report(self, data: SchemeData) -> None:
        """Add the `check` findings, pointed at cells, leaving out those already reported."""
        for p in check(data, skip_points=self.skip_points, sums=self.tree_certain):
            if (p.index, p.field) in self.suppressed or p.field == "indicators":
                continue
            if p.field == "total_points" and (None, "total_points") in self.suppressed:
                continue
            self.errors.append(self.locate(p.index, p.field, p.message, p.other))

    def locate(self, index: int | None, field: str, message: str, other: int | None) -> str:
        if index is None:
            r = self.meta_rows.get(field)
            return f"「{NOTES_SHEET}」工作表 第 {r} 行 B 列（{META[field]}）：{message}" if r else message
        if other is not None:
            message += f"（与第 {self.rows[other]} 行重复）"
        key = FIELD_COLUMN.get(field, field)
        if key == "level":
            key = LEVELS[self.levels[index] - 1]
        if key in self.columns:
            return f"{self.where(self.rows[index], key)}：{message}"
        return f"第 {self.rows[index]} 行：{message}"


def read_workbook(content: bytes) -> SchemeData:
    try:
        wb = load_workbook(BytesIO(content), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed files
        raise SchemeDataError([f"文件不是有效的 Excel 工作簿（.xlsx）：{type(exc).__name__}"]) from exc
    names = [TABLE_SHEET] if TABLE_SHEET in wb.sheetnames else [n for n in wb.sheetnames if n != NOTES_SHEET]
    found = [(name, *find_header(wb[name])) for name in names or wb.sheetnames[:1]]
    name, header, columns, errors = next((f for f in found if f[1] is not None), found[0])
    reader = _Reader(columns)
    reader.errors += errors
    items = reader.read_table(wb[name], header) if header is not None else []
    meta = reader.read_meta(wb)
    if header is None:
        raise SchemeDataError(reader.errors)
    data = SchemeData(meta["year"], meta["label"], meta["name"], meta["total_points"], items)
    reader.report(data)
    if reader.errors:
        raise SchemeDataError(reader.errors)
    return data
