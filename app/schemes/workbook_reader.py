"""Reading a scheme workbook (考核细则 .xlsx, layout in app.schemes.excel) back into SchemeData.

Import finds the header row by its labels and reports problems with row and column letter; nothing is
returned unless the whole table is sound. The work is bounded whatever the file holds:
app.schemes.xlsx_archive checks and repacks the archive first; sheets are streamed (openpyxl read-only
mode) over a fixed number of columns; the header is looked for in the first rows only; reading stops
at the end of the table (a long run of blank rows, so a stray cell at the sheet's far corner costs
nothing), and refuses a table with more rows or more text than any scheme has; cell text quoted in
messages is shortened and at most MAX_LISTED_ERRORS problems are listed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from app.inputs import JsonTooDeep, load_json
from app.schemes.excel import BY_KEY, COLUMNS, JSON_HINTS, LEVELS, META, NOTES_SHEET, REQUIRED, TABLE_SHEET
from app.schemes.exchange import (
    FREQUENCY_LABELS,
    KIND_LABELS,
    IndicatorData,
    SchemeData,
    SchemeDataError,
    check,
    parse_decimal,
)
from app.schemes.xlsx_archive import NOT_A_WORKBOOK, checked_workbook

HEADER_SEARCH_ROWS = 30  # title rows above the header are a line or two in published tables
MAX_COLUMNS = 64  # the layout has 13 columns; labels further right are not looked for
SHEET_ROWS = 1_048_576  # Excel's last row
MAX_DATA_ROWS = 2000  # a scheme has a few hundred indicators
BLANK_RUN = 200  # this many blank rows in a row end the table
NOTES_ROWS = 200  # 年度/版本/名称/总分 are at the top of the 说明 sheet
MAX_CELL_CHARS = 32767  # Excel's own limit for one cell
MAX_TEXT_CHARS = 2_000_000  # all text read from the table; shared strings make repeats cheap to send
MAX_LISTED_ERRORS = 100
MAX_LABEL_CHARS = 40  # longer text is never a header label or a 说明 key
SHOWN_CHARS = 40  # cell text quoted in a message
POINTS_DIGITS = 6  # points below 1,000,000 (stored as text of at most 24 characters)
POINTS_PLACES = 28  # …and not written with absurdly many decimal places

# Column of a validation finding, by IndicatorData field when the names differ ("level": the name cell).
FIELD_COLUMN = {"name": "level", "parent": "level", "assessed_in_system": "in_system"}
KIND_BY_TEXT = {**{v: k for k, v in KIND_LABELS.items()}, **{k: k for k in KIND_LABELS}}
CODE_KINDS = {"BONUS": "bonus", "VETO": "veto"}  # kind when the 类型 cell or column is missing
FREQUENCY_BY_TEXT = {**{v: k for k, v in FREQUENCY_LABELS.items()}, **{k: k for k in FREQUENCY_LABELS}}


def _normalize_label(value: Any) -> str:
    if value is None or (isinstance(value, str) and len(value) > MAX_LABEL_CHARS):
        return ""  # not a label, and not worth a regular expression over megabytes
    text = re.sub(r"\s+", "", str(value))
    return re.sub(r"[（(][^）)]*[）)]", "", text)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and (value == "" or value.isspace()))


def _shown(value: Any) -> str:
    """Cell text as quoted in a message: a long text is cut, so that messages stay small."""
    text = _text(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _points_in_range(number: Decimal) -> bool:
    # Decimal keeps any exponent; sums and messages over 1E+999999999 overflow or run to megabytes.
    exponent = number.as_tuple().exponent
    return number.adjusted() < POINTS_DIGITS and isinstance(exponent, int) and exponent >= -POINTS_PLACES


def _rows(ws: Any, **bounds: int) -> Iterator[tuple[Any, ...]]:
    """Cell values row by row; a sheet whose XML openpyxl cannot parse is refused, naming the sheet."""
    rows = ws.iter_rows(values_only=True, **bounds)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # ParseError, ValueError, IndexError … from a mangled sheet
            message = f"文件已损坏：无法读取工作表「{ws.title}」（{type(exc).__name__}）"
            raise SchemeDataError([message]) from exc
        yield row


def listed(errors: list[str]) -> list[str]:
    """At most MAX_LISTED_ERRORS messages, then a line saying how many were left out."""
    if len(errors) <= MAX_LISTED_ERRORS:
        return errors
    rest = len(errors) - MAX_LISTED_ERRORS
    return [
        *errors[:MAX_LISTED_ERRORS],
        f"……另有 {rest} 处错误未列出（错误过多，仅列出前 {MAX_LISTED_ERRORS} 处）",
    ]


def find_header(ws: Any) -> tuple[int | None, dict[str, int], list[str]]:
    """The header row, the column of each known label, and problems (missing or repeated labels)."""
    labels = {_normalize_label(c.label): c.key for c in COLUMNS}
    partial: str | None = None
    for r, values in enumerate(_rows(ws, max_row=HEADER_SEARCH_ROWS, max_col=MAX_COLUMNS), start=1):
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
        self.stopped: str | None = None  # why the table was not read to its end
        self.suppressed: set[tuple[int | None, str]] = set()  # findings already reported per cell
        self.skip_points: set[int] = set()  # indicators whose points are unknown
        self.tree_certain = True
        self.rows: list[int] = []  # sheet row of each indicator
        self.levels: list[int] = []
        self.meta_rows: dict[str, int] = {}
        self.text_chars = 0
        self.items: list[IndicatorData] = []
        self.last: dict[int, str | None] = {1: None, 2: None}  # latest first- and second-level codes

    def where(self, row: int, *keys: str) -> str:
        letters = "、".join(get_column_letter(self.columns[k]) for k in keys)
        labels = "、".join(_normalize_label(BY_KEY[k].label) for k in keys)
        return f"第 {row} 行 {letters} 列（{labels}）"

    def cell_error(self, row: int, key: str, message: str) -> None:
        self.errors.append(f"{self.where(row, key)}：{message}")

    def clip_long_cells(self, r: int, raw: dict[str, Any]) -> None:
        for key, value in raw.items():
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                self.cell_error(r, key, f"内容过长（{len(value)} 个字符，单元格最多 {MAX_CELL_CHARS} 个）")
                raw[key] = value[:MAX_CELL_CHARS]

    def read_table(self, ws: Any, header: int) -> list[IndicatorData]:
        blank = data_rows = 0
        # An explicit max_row: read-only mode otherwise stops where the sheet's <dimension> says.
        bounds = {"min_row": header + 1, "max_row": SHEET_ROWS, "max_col": max(self.columns.values())}
        for r, values in enumerate(_rows(ws, **bounds), start=header + 1):
            raw = {k: values[i - 1] if i <= len(values) else None for k, i in self.columns.items()}
            # Counted before anything scans the text: one huge shared string may fill every cell.
            self.text_chars += sum(len(v) for v in raw.values() if isinstance(v, str))
            if self.text_chars > MAX_TEXT_CHARS:
                self.stopped = (
                    f"工作表「{ws.title}」第 {r} 行：表格文字超过 {MAX_TEXT_CHARS // 10000} 万字，"
                    f"考核细则不会有这么多内容（只检查了第 {r} 行之前的内容）"
                )
                break
            if all(_blank(v) for k, v in raw.items() if k != "seq"):
                blank += 1
                if blank >= BLANK_RUN:  # the table has ended; whatever lies far below is not part of it
                    break
                continue
            blank = 0
            data_rows += 1
            if data_rows > MAX_DATA_ROWS:
                self.stopped = (
                    f"工作表「{ws.title}」第 {r} 行：表头下的指标行超过 {MAX_DATA_ROWS} 行，"
                    f"考核细则不会有这么多指标，请删除多余的行（只检查了前 {MAX_DATA_ROWS} 行）"
                )
                break
            self.clip_long_cells(r, raw)
            self.add_row(r, raw)
        if not self.items and self.stopped is None:
            self.errors.append(f"第 {header} 行表头下没有任何指标行")
        return self.items

    def add_row(self, r: int, raw: dict[str, Any]) -> None:
        ind, level, flags = self.read_row(r, raw)
        if level is None:
            self.tree_certain = False
            return
        if level > 1:
            ind.parent = self.last[level - 1]
            if ind.parent is None:
                above = "一级" if level == 2 else "所属的二级"
                self.cell_error(r, LEVELS[level - 1], f"前面没有{above}指标，无法确定上级")
                self.tree_certain = False
                return
        if level == 1:
            self.last = {1: ind.code, 2: None}
        elif level == 2:
            self.last[2] = ind.code
        index = len(self.items)
        self.suppressed.update((index, f) for f in flags if f in ("code", "kind"))
        if flags & {"max_points", "kind"}:
            self.skip_points.add(index)
        self.items.append(ind)
        self.rows.append(r)
        self.levels.append(level)

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
        code = _shown(raw["code"]).upper()  # a valid code has at most 20 characters
        if not code:
            self.cell_error(r, "code", "未填写指标编码")
            flags.add("code")
            code = f"<第{r}行>"
        points = parse_decimal(raw["max_points"])
        if points is None:
            shown = _shown(raw["max_points"])
            self.cell_error(r, "max_points", f"不是数字（「{shown}」）" if shown else "未填写分值")
            flags.add("max_points")
        elif not _points_in_range(points):
            self.cell_error(r, "max_points", f"分值「{_shown(raw['max_points'])}」超出范围")
            flags.add("max_points")
            points = None
        kind_text = _text(raw.get("kind"))
        kind = KIND_BY_TEXT.get(kind_text) if kind_text else CODE_KINDS.get(code, "scored")
        if kind is None:
            self.cell_error(r, "kind", f"类型「{_shown(kind_text)}」无效，只能填写 计分、加分 或 否决")
            flags.add("kind")
        frequency_text = _text(raw.get("frequency"))
        frequency = FREQUENCY_BY_TEXT.get(frequency_text, "") if frequency_text else ""
        if frequency_text and not frequency:
            self.cell_error(
                r,
                "frequency",
                f"考核频次「{_shown(frequency_text)}」无效，只能填写 月度、季度、年度、按次 或留空",
            )
        in_system = raw.get("in_system") if isinstance(raw.get("in_system"), bool) else None
        if in_system is None and _text(raw.get("in_system")) not in ("", "是", "否"):
            self.cell_error(r, "in_system", f"只能填写“是”或“否”（实际为「{_shown(raw.get('in_system'))}」）")
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
            rules = load_json(text)
        except JsonTooDeep as exc:
            self.cell_error(r, "rules", f"{exc}，计分规则不会嵌套这么深")
            return None
        except json.JSONDecodeError as exc:
            hint = JSON_HINTS.get(exc.msg, exc.msg)
            self.cell_error(r, "rules", f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 个字符：{hint}）")
            return None
        if rules is not None and not isinstance(rules, dict):
            self.cell_error(r, "rules", '须为 JSON 对象，如 {"method": "deduct"}')
            return None
        return rules

    def read_meta(self, notes: Any | None) -> dict[str, Any]:
        """年度/版本/名称/总分 from the 说明 sheet (first cell in column A holding the key)."""
        meta: dict[str, Any] = {"year": 2000, "label": "", "name": "", "total_points": Decimal(0)}
        if notes is None:
            self.errors.append(
                f"缺少「{NOTES_SHEET}」工作表：其 A 列写 年度、版本、名称、总分，B 列写对应的值"
            )
            self.suppressed.update((None, key) for key in META)
            return meta
        keys = {label: key for key, label in META.items()}
        rows = _rows(notes, max_row=NOTES_ROWS, max_col=2)
        for r, (label, value, *_) in enumerate(((*row, None, None) for row in rows), start=1):
            key = keys.get(_normalize_label(label))
            if key is None or key in self.meta_rows:
                continue
            self.meta_rows[key] = r
            number = parse_decimal(value)
            where = f"「{NOTES_SHEET}」工作表 第 {r} 行 B 列（{META[key]}）"
            if key in ("label", "name"):
                meta[key] = _text(value)
            elif number is not None and not _points_in_range(number):
                self.errors.append(f"{where}：{META[key]}「{_shown(value)}」超出范围")
                self.suppressed.add((None, key))
            elif number is not None and (key == "total_points" or number == number.to_integral_value()):
                meta[key] = number if key == "total_points" else int(number)
            else:
                what = "整数" if key == "year" else "数字"
                self.errors.append(f"{where}：不是{what}（「{_shown(value)}」）")
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


def from_workbook(content: bytes) -> SchemeData:
    """The scheme in an .xlsx file; SchemeDataError (Chinese, naming sheet, row and column where it can)
    on anything wrong, with nothing partial returned."""
    archive = checked_workbook(content)
    try:
        wb = load_workbook(archive, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on malformed files
        raise SchemeDataError([f"{NOT_A_WORKBOOK}：{type(exc).__name__}"]) from exc
    try:
        return _read(wb)
    finally:
        wb.close()


def _read(wb: Any) -> SchemeData:
    sheets = {ws.title: ws for ws in wb.worksheets}  # chart sheets have no cells
    if not sheets:
        raise SchemeDataError([f"工作簿中没有工作表：请在「{TABLE_SHEET}」工作表中填写考核细则"])
    names = [TABLE_SHEET] if TABLE_SHEET in sheets else [n for n in sheets if n != NOTES_SHEET]
    found = [(name, *find_header(sheets[name])) for name in names or list(sheets)[:1]]
    name, header, columns, errors = next((f for f in found if f[1] is not None), found[0])
    reader = _Reader(columns)
    reader.errors += errors
    items = reader.read_table(sheets[name], header) if header is not None else []
    if reader.stopped is not None:  # a partial table would only add noise
        raise SchemeDataError(listed([reader.stopped, *reader.errors]))
    meta = reader.read_meta(sheets.get(NOTES_SHEET))
    if header is None:
        raise SchemeDataError(listed(reader.errors))
    data = SchemeData(meta["year"], meta["label"], meta["name"], meta["total_points"], items)
    reader.report(data)
    if reader.errors:
        raise SchemeDataError(listed(reader.errors))
    return data
